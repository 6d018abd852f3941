/**
 * The routing table: the only contract between the controller and the proxies.
 *
 * It is plain JSON (it travels as NDJSON and is persisted to disk), so it holds numbers in
 * milliseconds, expression *sources* (each proxy compiles them when it applies a table) and
 * string ids for cross references. The shape follows listeners -> routes -> clusters ->
 * endpoints, so each Service's own annotations (scheme, timeouts, balancing, passive health)
 * live on its cluster and travel with it when another Service splits traffic onto it. Each
 * route policy's type, validation and shared defaults are in its own module under policies/.
 */
export const TABLE_FORMAT = 1;
