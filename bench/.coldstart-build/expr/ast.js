/**
 * The expression tree after parsing: only the constructs of the language, each with its 0-based
 * start `pos` in the source. `&&`, `||` and string `+` chains are flattened to n-ary nodes.
 */
export {};
