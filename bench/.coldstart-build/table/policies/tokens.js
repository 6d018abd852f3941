/** HTTP tokens (RFC 9110 5.6.2): what header and cookie names the proxy writes must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
export function isHttpToken(s) {
    return TOKEN.test(s);
}
/** The characters of a token, for messages. */
export const TOKEN_CHARACTERS = "letters, digits and !#$%&'*+.^_`|~-, no spaces";
