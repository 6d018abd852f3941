/** The reason translation writes for `"true"`: no reason of the operator's own. */
export const MAINTENANCE_NO_REASON = 'maintenance';
/** The sentence fragment after the Service's name on the maintenance page. */
export function maintenanceText(reason) {
    const r = reason.trim().replace(/[.\s]+$/, '');
    return r === '' || r.toLowerCase() === MAINTENANCE_NO_REASON ? 'is down for maintenance' : `is down for maintenance: ${r}`;
}
export const MAINTENANCE = {
    field: 'maintenance',
    httpOnly: false,
    validate: (v, { c, path }) => {
        const mt = c.object(v, path);
        if (mt)
            c.string(mt.reason, `${path}.reason`);
    },
};
