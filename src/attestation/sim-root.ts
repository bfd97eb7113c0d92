// !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
// THE SIMULATED ROOT CA. ITS PRIVATE KEY IS BELOW, COMMITTED AND PUBLIC ON PURPOSE.
//
// Anyone can mint a simulated quoting key with it and so forge any simulated quote for any measurement.
// That is the point: the simulated platform proves nothing, it only lets the protocol run on machines
// without a TEE. This is exactly why every simulated quote and verdict says SIMULATED / debug, and why
// no production policy may ever accept platform "sim". Never reuse this key for anything else.
// !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
//
// Generated once (ECDSA P-256, self-signed, CA:TRUE pathlen 0, keyCertSign|cRLSign, valid
// 2025-01-01 .. 2099-12-31) by a one-off script that is deliberately not kept in the repo.

/** The pinned root of simulated quotes (PEM). */
export const SIM_ROOT_CERT_PEM = `-----BEGIN CERTIFICATE-----
MIIB6zCCAZKgAwIBAgIBATAKBggqhkjOPQQDAjBbMUcwRQYDVQQDEz5Bbm9uaWZ5
IFNJTVVMQVRFRCBSb290IENBIC0gcHJpdmF0ZSBrZXkgaXMgcHVibGljIC0gTk9U
IFNFQ1VSRTEQMA4GA1UEChMHQW5vbmlmeTAgFw0yNTAxMDEwMDAwMDBaGA8yMDk5
MTIzMTIzNTk1OVowWzFHMEUGA1UEAxM+QW5vbmlmeSBTSU1VTEFURUQgUm9vdCBD
QSAtIHByaXZhdGUga2V5IGlzIHB1YmxpYyAtIE5PVCBTRUNVUkUxEDAOBgNVBAoT
B0Fub25pZnkwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATnJ8+YDKeffsYljJtR
MBzdZKlX6X9GE2RS/Vlr7SpRXVhdN/jFFg8Dj2/+ik/F4IK9cRdWyLjySpVvYVuF
Exlao0UwQzASBgNVHRMBAf8ECDAGAQH/AgEAMA4GA1UdDwEB/wQEAwIBBjAdBgNV
HQ4EFgQUEdjHRDdwbbvWqMx+OPf4etd1iRIwCgYIKoZIzj0EAwIDRwAwRAIgddSi
0w+Jtjkh8fV1m7+aod7Ts7gA5ZKJQJP6N/ASenoCICR5bi12LH7zP2yOQiiMefH8
W1K63UL5ecXLZz4PFthh
-----END CERTIFICATE-----
`;

/** PUBLIC ON PURPOSE (see above): the simulated root's private key, PKCS#8 PEM. */
export const SIM_ROOT_PRIVATE_KEY_PKCS8_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFB/vIHRvF/PvaLfV
yBhsbVYMDWg/AW8FacPj4pSttkmhRANCAATnJ8+YDKeffsYljJtRMBzdZKlX6X9G
E2RS/Vlr7SpRXVhdN/jFFg8Dj2/+ik/F4IK9cRdWyLjySpVvYVuFExla
-----END PRIVATE KEY-----
`;
