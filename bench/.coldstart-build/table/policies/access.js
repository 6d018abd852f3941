import { checkHttpMatches } from '../matches.js';
export const ACCESS = {
    field: 'access',
    httpOnly: false,
    validate: (v, { c, path, route }) => {
        const a = c.object(v, path);
        if (!a)
            return;
        const seen = new Set();
        c.array(a.allow, `${path}.allow`).forEach((sv, i) => {
            const at = `${path}.allow[${i}]`;
            const s = c.object(sv, at);
            if (!s)
                return;
            const nsOk = c.string(s.namespace, `${at}.namespace`, { nonEmpty: true });
            const saOk = c.string(s.serviceAccount, `${at}.serviceAccount`, { nonEmpty: true });
            if (nsOk && saOk) {
                const key = `${s.namespace}/${s.serviceAccount}`;
                if (seen.has(key))
                    c.fail(at, `lists ${key} twice`);
                seen.add(key);
            }
            if (c.optional(s, 'matches')) {
                if (route.protocol !== 'http')
                    c.fail(`${at}.matches`, `only http routes match requests, this route is ${String(route.protocol)}`);
                else
                    checkHttpMatches(c, s.matches, `${at}.matches`);
            }
            if (c.optional(s, 'origins'))
                c.array(s.origins, `${at}.origins`).forEach((o, k) => c.string(o, `${at}.origins[${k}]`));
        });
    },
};
