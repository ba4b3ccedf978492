// The ES module entry of the package: the same client as the CommonJS one.
import client from './starfleet-secrets.js';

export const { getSlice, StarfleetSecretsError } = client;
export default client;
