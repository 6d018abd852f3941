/**
 * What compiled expressions read. The proxy builds one MatchRequest per request (cheaply: plain
 * fields it already has) and one BreakerStats per route; the closures only read them.
 */
export {};
