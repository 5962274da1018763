/**
 * A self-signed certificate for 127.0.0.1/localhost (P-256, valid 100 years) and its key: test-only,
 * for the agent's https exchange with ONBOARDING_AGENT_ROOT_CERTS. Never trust it anywhere else.
 */

/** PEM certificate; its own root. */
export const TEST_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUNN0TyuAi9/CvO+kkVZRWuk83nXQwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMzA5MzkxN1oYDzIxMjYxMDMw
MDkzOTE3WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQHvCeuPjifeyvtMjfRT3J7n9F9iWz7Sfqxr5Aaq8zTF2C3jZm3TKHo
YPnrobh3d69icmGoAY7Ye3WY0HzOCfgyo28wbTAdBgNVHQ4EFgQUG+rx0YVduoax
GizdEkzIg+AqY6IwHwYDVR0jBBgwFoAUG+rx0YVduoaxGizdEkzIg+AqY6IwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSQAwRgIhANQcrI5AM2qkPjDMp+0twWvtA+UwFxShNHB2MEBc2RRaAiEA
nppn4FfCGli3sDndI3hQhdOPC8OyynGd5CjfBL7iqdM=
-----END CERTIFICATE-----
`;

/** PEM private key of TEST_TLS_CERT. */
export const TEST_TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGS/+Mmss6umkQEfi
AY/kraMQEbjdxyw7esCUOdj/2UihRANCAAQHvCeuPjifeyvtMjfRT3J7n9F9iWz7
Sfqxr5Aaq8zTF2C3jZm3TKHoYPnrobh3d69icmGoAY7Ye3WY0HzOCfgy
-----END PRIVATE KEY-----
`;
