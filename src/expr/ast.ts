/**
 * The expression tree after parsing: only the constructs of the language, each with its 0-based
 * start `pos` in the source. `&&`, `||` and string `+` chains are flattened to n-ary nodes.
 */

export type Node =
  | LiteralNode
  | ListNode
  | ObjectNode
  | CallNode
  | NameNode
  | PlaceholderNode
  | NotNode
  | NegateNode
  | LogicalNode
  | CompareNode
  | ConcatNode
  | ConditionalNode;

export interface LiteralNode { kind: 'literal'; pos: number; value: string | number | boolean }
export interface ListNode { kind: 'list'; pos: number; items: Node[] }
export interface ObjectEntry { key: string; keyPos: number; value: Node }
export interface ObjectNode { kind: 'object'; pos: number; entries: ObjectEntry[] }
export interface CallNode { kind: 'call'; pos: number; name: string; args: Node[] }
/** A bare name: never valid on its own, kept so the checker can say why. */
export interface NameNode { kind: 'name'; pos: number; name: string }
/** `{header.X-User}` inside an expression: a string value. */
export interface PlaceholderNode { kind: 'placeholder'; pos: number; name: string }
export interface NotNode { kind: 'not'; pos: number; arg: Node }
export interface NegateNode { kind: 'negate'; pos: number; arg: Node }
export interface LogicalNode { kind: 'logical'; pos: number; op: '&&' | '||'; args: Node[] }
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export interface CompareNode { kind: 'compare'; pos: number; opPos: number; op: CompareOp; left: Node; right: Node }
export interface ConcatNode { kind: 'concat'; pos: number; args: Node[] }
export interface ConditionalNode { kind: 'conditional'; pos: number; test: Node; then: Node; else: Node }
