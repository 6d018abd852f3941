export * from './types.ts';
export * from './ids.ts';
export * from './snapshot.ts';
export { validateTable, formatProblems } from './validate.ts';
export type { TableProblem, TableValidation } from './validate.ts';
export * from './protocol.ts';
export * from './policies/rate-limit.ts';
