export function emptyMemory() {
    return { settings: new Map() };
}
