export const MIRROR = {
    field: 'mirror',
    httpOnly: true,
    validate: (v, check) => {
        const m = check.c.object(v, check.path);
        if (!m)
            return;
        check.cluster(m.cluster, check.path);
        check.c.number(m.percent, `${check.path}.percent`, 0, 100);
    },
};
