/** Upstream's gateway-profile HTTPRoute extended tests run in mesh mode (cases/gateway-in-mesh.ts). */
import { runConformance } from './support/run.ts';
import { EXTRA_TESTS } from './cases/index.ts';

runConformance(EXTRA_TESTS);
