/** The aggregator the tools talk to unless --url names another: a server started with the default PORT here. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';
