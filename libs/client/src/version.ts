/** The client's version, sent in every hello. The build checks it against libs/client/package.json. */
export const CLIENT_VERSION = '0.1.0';
