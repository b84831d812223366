// ACS3-HMAC-SHA256 request signing, exactly as Alibaba's Go SDK signs (reference §6.2), with
// WebCrypto so the access-key secret never leaves the browser.
export const algorithm = "ACS3-HMAC-SHA256";
const encoder = new TextEncoder();
function hex(buf) {
    return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}
export async function sha256Hex(data) {
    return hex(await crypto.subtle.digest("SHA-256", encoder.encode(data)));
}
async function hmacHex(secret, data) {
    const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
}
// percentEncode is RFC 3986 with only A-Za-z0-9-_.~ unescaped, the SDK's canonical form.
export function percentEncode(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}
// canonicalQuery sorts by key in byte order (the keys Coffer takes are ASCII) and encodes values.
export function canonicalQuery(params) {
    return Object.keys(params)
        .sort()
        .map((k) => `${k}=${percentEncode(params[k])}`)
        .join("&");
}
// authorization returns the Authorization header value for a request whose headers are final.
export async function authorization(req, cred) {
    const names = Object.keys(req.headers).sort();
    const canonicalHeaders = names.map((n) => `${n}:${req.headers[n].trim()}\n`).join("");
    const signedHeaders = names.join(";");
    const canonicalRequest = [
        req.method,
        req.path,
        canonicalQuery(req.query),
        canonicalHeaders,
        signedHeaders,
        await sha256Hex(req.body),
    ].join("\n");
    const stringToSign = `${algorithm}\n${await sha256Hex(canonicalRequest)}`;
    const signature = await hmacHex(cred.accessKeySecret, stringToSign);
    return `${algorithm} Credential=${cred.accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`;
}
// nonce is 32 hex characters, as the SDK sends.
export function nonce() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return hex(b.buffer);
}
// acsDate formats a time as the SDK does: UTC to the second, with a Z.
export function acsDate(d) {
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
