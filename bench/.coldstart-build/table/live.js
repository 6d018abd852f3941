export const REPORT_PATH = '/v1/report';
export const STATS_PATH = '/v1/stats';
export const TAP_PATH = '/v1/tap';
/** `ns/svc[:port]` matches a route id `ns/svc:port`. */
export function tapTargetMatches(target, route) {
    if (target.includes(':'))
        return target === route;
    return route.length > target.length && route.startsWith(target) && route.charCodeAt(target.length) === 58; /* ':' */
}
