export function isDirectBackend(b) {
    return 'respond' in b;
}
/** The rule's cluster backends (direct answers left out). */
export function clusterBackends(rule) {
    return rule.backends.filter((b) => !isDirectBackend(b));
}
/** One line saying what a rule matches, for summaries: its expression, or its structured matches. */
export function describeRuleMatch(rule) {
    const parts = [];
    if (rule.match !== undefined)
        parts.push(rule.match);
    for (const m of rule.matches ?? []) {
        const terms = [];
        if (m.path !== undefined)
            terms.push(`path ${m.path.type} ${m.path.value}`);
        if (m.methods !== undefined)
            terms.push(`method ${m.methods.join('|')}`);
        for (const h of m.headers ?? [])
            terms.push(`header ${h.name} ${h.type} ${h.value}`);
        for (const q of m.queryParams ?? [])
            terms.push(`query ${q.name} ${q.type} ${q.value}`);
        parts.push(terms.length > 0 ? terms.join(' and ') : 'any request');
    }
    if (parts.length === 0)
        parts.push('any request');
    const text = parts.join(' or ');
    if (rule.clients?.namespaces !== undefined)
        return `${text} (clients in ${rule.clients.namespaces.join(', ')})`;
    if (rule.clients?.exceptNamespaces !== undefined)
        return `${text} (clients not in ${rule.clients.exceptNamespaces.join(', ')})`;
    return text;
}
