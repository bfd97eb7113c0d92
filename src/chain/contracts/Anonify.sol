// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Anonify: orders encrypted state transitions of attested enclaves.
/// @notice The contract never sees plaintext. It keeps the owner's attestation policy, the registry of
/// enclaves whose attestation report it checked, the MLS epoch (a compare-and-swap register that
/// totally orders group handshakes) and a hash chain over the encrypted batches. Ciphertext goes to
/// events only (calldata + log is the cheap path); storage holds counters and hashes.
contract Anonify {
    // ----- domain tags: every signature names what it signs, the chain and this contract -----
    bytes32 public constant REPORT_TAG = keccak256("anonify.attestation-report.v1");
    bytes32 public constant BINDING_TAG = keccak256("anonify.enclave-binding.v1");
    bytes32 public constant HANDSHAKE_TAG = keccak256("anonify.handshake.v1");
    bytes32 public constant BATCH_TAG = keccak256("anonify.batch.v1");
    bytes32 public constant KEY_PACKAGE_TAG = keccak256("anonify.key-package.v1");
    bytes32 public constant LEAVE_TAG = keccak256("anonify.leave.v1");
    bytes32 public constant SNAPSHOT_TAG = keccak256("anonify.snapshot.v1");

    uint8 public constant PLATFORM_SIM = 0;
    uint8 public constant PLATFORM_SGX = 1;
    uint8 public constant PLATFORM_TDX = 2;
    uint8 public constant PLATFORM_NITRO = 3;

    /// secp256k1 half order: signatures with a larger s are malleable copies and are refused.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// What the attestation service vouches for, ABI-encoded and signed by the service.
    struct AttestationReport {
        uint8 platform;
        bytes32 measurement;
        bytes32 signerMeasurement;
        bool debug;
        uint8 tcbStatus;
        bytes32 reportData;
        uint64 issuedAt;
    }

    enum EnclaveState {
        None,
        Active,
        Revoked,
        Left
    }

    struct Enclave {
        EnclaveState state;
        uint8 platform;
        bool debug;
        uint64 registeredAt;
        uint64 batchNonce;
        /// Nonce of the enclave's next signed record about itself (key package, snapshot commitment,
        /// leave): each such signature names it and is usable once, in order. See `takeRecordNonce`.
        uint64 recordNonce;
        bytes32 measurement;
        bytes hpkePublicKey;
    }

    address public owner;
    mapping(bytes32 => bool) public allowedMeasurements;
    mapping(address => bool) public trustedSigners;
    bool public debugAllowed;
    uint64 public maxReportAge;

    mapping(address => Enclave) private enclaves;
    address[] private enclaveList;

    /// MLS epoch of the group; a handshake is accepted only for this epoch, then it increments.
    uint64 public epoch;
    /// Number of commands ordered so far; the next batch's first command gets this sequence.
    uint64 public commandCount;
    /// Number of batches ordered so far.
    uint64 public batchCount;
    /// Hash chain over every batch: a node that replays events checks it reaches this head.
    bytes32 public batchHead;
    /// Hash chain over every handshake.
    bytes32 public handshakeHead;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event MeasurementAllowed(bytes32 indexed measurement, bool allowed);
    event TrustedSignerSet(address indexed signer, bool trusted);
    event DebugAllowedSet(bool allowed);
    event MaxReportAgeSet(uint64 maxReportAge);
    event EnclaveRegistered(
        address indexed enclave,
        uint8 platform,
        bytes32 measurement,
        bool debug,
        bytes hpkePublicKey,
        bytes report,
        bytes reportSignature,
        bytes evidence
    );
    event EnclaveRevoked(address indexed enclave);
    event EnclaveLeft(address indexed enclave, uint64 nonce, bytes signature);
    /// @notice A signed policy document (src/protocol/policy-document.ts), as anyone published it.
    event PolicyPublished(bytes document, bytes[] signatures);
    /// @notice Intel PCS collateral (src/protocol/collateral-record.ts), as anyone published it.
    event CollateralPublished(bytes collateral);
    event KeyPackagePublished(address indexed enclave, uint64 nonce, bytes keyPackage, bytes signature);
    event HandshakeCommitted(uint64 indexed epoch, address indexed enclave, bytes32 head, bytes handshake);
    event BatchSubmitted(
        uint64 indexed batch,
        uint64 epoch,
        uint64 firstSequence,
        uint32 count,
        address indexed enclave,
        bytes32 head,
        bytes ciphertext
    );
    event SnapshotCommitted(address indexed enclave, uint64 epoch, uint64 sequence, bytes32 snapshotHash);

    error NotOwner(address caller);
    error ZeroAddress();
    error UntrustedReportSigner(address signer);
    error MeasurementNotAllowed(bytes32 measurement);
    error DebugNotAllowed();
    error ReportTooOld(uint64 issuedAt, uint64 maxAge, uint256 now_);
    error ReportFromFuture(uint64 issuedAt, uint256 now_);
    error BindingMismatch(bytes32 expected, bytes32 actual);
    error UnknownPlatform(uint8 platform);
    error AlreadyRegistered(address enclave);
    error NotRegistered(address enclave);
    error EnclaveNotActive(address enclave, EnclaveState state);
    error InvalidSignature();
    error StaleEpoch(uint64 expected, uint64 given);
    error EmptyBatch();
    error EmptyPayload();
    error MalformedReport();
    /// A record signed for another record nonce than the enclave's next one (a replay, or a host
    /// that asked its enclave to sign for a wrong nonce).
    error StaleKeyPackage(address enclave, uint64 expected, uint64 given);
    error StaleLeave(address enclave, uint64 expected, uint64 given);
    error StaleSnapshot(address enclave, uint64 expected, uint64 given);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor(address owner_, uint64 maxReportAge_) {
        if (owner_ == address(0)) revert ZeroAddress();
        owner = owner_;
        maxReportAge = maxReportAge_;
        emit OwnershipTransferred(address(0), owner_);
        emit MaxReportAgeSet(maxReportAge_);
    }

    // ------------------------------------------------------------------ owner policy

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function setMeasurementAllowed(bytes32 measurement, bool allowed) external onlyOwner {
        allowedMeasurements[measurement] = allowed;
        emit MeasurementAllowed(measurement, allowed);
    }

    function setTrustedSigner(address signer, bool trusted) external onlyOwner {
        if (signer == address(0)) revert ZeroAddress();
        trustedSigners[signer] = trusted;
        emit TrustedSignerSet(signer, trusted);
    }

    function setDebugAllowed(bool allowed) external onlyOwner {
        debugAllowed = allowed;
        emit DebugAllowedSet(allowed);
    }

    function setMaxReportAge(uint64 maxAge) external onlyOwner {
        maxReportAge = maxAge;
        emit MaxReportAgeSet(maxAge);
    }

    function revokeEnclave(address enclave) external onlyOwner {
        Enclave storage e = enclaves[enclave];
        if (e.state == EnclaveState.None) revert NotRegistered(enclave);
        if (e.state != EnclaveState.Active) revert EnclaveNotActive(enclave, e.state);
        e.state = EnclaveState.Revoked;
        emit EnclaveRevoked(enclave);
    }

    // ------------------------------------------------------------------ registration

    /// @notice The value an enclave's quote must carry as report data (first 32 bytes).
    function bindingOf(address enclave, bytes calldata hpkePublicKey) public view returns (bytes32) {
        return keccak256(abi.encode(BINDING_TAG, enclave, keccak256(hpkePublicKey), block.chainid, address(this)));
    }

    /// @notice The digest the attestation service signs (EIP-191 personal message over it).
    function reportDigest(bytes calldata report) public pure returns (bytes32) {
        return keccak256(abi.encode(REPORT_TAG, keccak256(report)));
    }

    /// @notice `evidence` is the raw attestation evidence (the quote) the service verified, in the
    /// format of the report's platform. The contract does not parse it: it only passes through the
    /// `EnclaveRegistered` event, so that every group member verifies it inside its own enclave
    /// against the roots in its measured build before admitting this enclave.
    function registerEnclave(
        bytes calldata report,
        bytes calldata signature,
        address enclave,
        bytes calldata hpkePublicKey,
        bytes calldata evidence
    ) external {
        if (enclave == address(0)) revert ZeroAddress();
        if (evidence.length == 0) revert EmptyPayload();
        if (enclaves[enclave].state != EnclaveState.None) revert AlreadyRegistered(enclave);
        // A report is seven 32-byte ABI words; anything else is not ours.
        if (report.length != 7 * 32) revert MalformedReport();
        AttestationReport memory r = abi.decode(report, (AttestationReport));

        address signer = recoverPersonal(reportDigest(report), signature);
        if (!trustedSigners[signer]) revert UntrustedReportSigner(signer);
        if (r.platform > PLATFORM_NITRO) revert UnknownPlatform(r.platform);
        if (!allowedMeasurements[r.measurement]) revert MeasurementNotAllowed(r.measurement);
        // The simulated platform is debug by nature: it never passes a no-debug policy.
        if ((r.debug || r.platform == PLATFORM_SIM) && !debugAllowed) revert DebugNotAllowed();
        if (r.issuedAt > block.timestamp + 5 minutes) revert ReportFromFuture(r.issuedAt, block.timestamp);
        if (block.timestamp > uint256(r.issuedAt) + maxReportAge) {
            revert ReportTooOld(r.issuedAt, maxReportAge, block.timestamp);
        }
        bytes32 expected = bindingOf(enclave, hpkePublicKey);
        if (r.reportData != expected) revert BindingMismatch(expected, r.reportData);

        enclaves[enclave] = Enclave({
            state: EnclaveState.Active,
            platform: r.platform,
            debug: r.debug || r.platform == PLATFORM_SIM,
            registeredAt: uint64(block.timestamp),
            batchNonce: 0,
            recordNonce: 0,
            measurement: r.measurement,
            hpkePublicKey: hpkePublicKey
        });
        enclaveList.push(enclave);
        emit EnclaveRegistered(enclave, r.platform, r.measurement, r.debug, hpkePublicKey, report, signature, evidence);
    }

    // Records an enclave signs about itself (key package, snapshot commitment, leave) name its record
    // nonce; each is accepted only for the current one, which it uses up. Without it a key package
    // signature stayed valid forever: a host could publish an old key package again after a newer
    // one, making a consumed or abandoned one the enclave's latest. A per-enclave counter, not the
    // group's epoch: only the enclave's own host sends its records, so they never race other nodes'
    // handshakes; one counter for the three, so a record signed before the enclave's later ones is
    // void after them. The nonce is public: the host reads it (`getEnclave`) and has its enclave sign
    // for it; a wrong one only makes the host's own transaction fail (liveness), and the enclave
    // never signs a key package for a lower nonce than before, so signatures a host gathers ahead
    // cannot bring an old key package back after a newer one.

    /// @notice An enclave publishes an MLS KeyPackage so that a member can add it to the group.
    function publishKeyPackage(uint64 nonce, bytes calldata keyPackage, bytes calldata signature) external {
        if (keyPackage.length == 0) revert EmptyPayload();
        bytes32 digest = keccak256(
            abi.encode(KEY_PACKAGE_TAG, block.chainid, address(this), nonce, keccak256(keyPackage))
        );
        address enclave = requireActive(digest, signature);
        uint64 expected = takeRecordNonce(enclave, nonce);
        if (expected != nonce) revert StaleKeyPackage(enclave, expected, nonce);
        emit KeyPackagePublished(enclave, nonce, keyPackage, signature);
    }

    /// @notice An enclave leaves on its own: members then commit its removal. Leaving is final; the
    /// record nonce keeps a leave signed before the enclave's later records from being used after them.
    function leave(uint64 nonce, bytes calldata signature) external {
        bytes32 digest = keccak256(abi.encode(LEAVE_TAG, block.chainid, address(this), nonce));
        address enclave = requireActive(digest, signature);
        uint64 expected = takeRecordNonce(enclave, nonce);
        if (expected != nonce) revert StaleLeave(enclave, expected, nonce);
        enclaves[enclave].state = EnclaveState.Left;
        emit EnclaveLeft(enclave, nonce, signature);
    }

    // ------------------------------------------------------------------ signed policies

    /// @notice Publishes a policy document signed by the deployment's policy keys, so that every
    /// enclave reads the same documents in one order. Anyone may call it and nothing is checked or
    /// stored here: each enclave verifies the document and its signatures against the keys pinned in
    /// its measured build, and ignores what does not verify. Only the event carries it.
    function publishPolicy(bytes calldata document, bytes[] calldata signatures) external {
        if (document.length == 0) revert EmptyPayload();
        emit PolicyPublished(document, signatures);
    }

    /// @notice Publishes Intel PCS collateral (TCB info, QE identity, CRLs and their issuer chains)
    /// so that every enclave judges SGX and TDX quotes against the same collateral, read in one
    /// order. Anyone may call it and nothing is checked or stored here: collateral is Intel-signed,
    /// and each enclave verifies it against the Intel root pinned in its measured build and keeps
    /// the freshest set per platform, FMSPC and PCK CA. Only the event carries it.
    function publishCollateral(bytes calldata collateral) external {
        if (collateral.length == 0) revert EmptyPayload();
        emit CollateralPublished(collateral);
    }

    // ------------------------------------------------------------------ ordering

    /// @notice Orders one MLS handshake (Commit, with its Welcome if any). Compare-and-swap on the
    /// epoch: of concurrent commits for one epoch, exactly one lands and the others revert.
    function commitHandshake(uint64 epoch_, bytes calldata handshake, bytes calldata signature) external {
        if (handshake.length == 0) revert EmptyPayload();
        if (epoch_ != epoch) revert StaleEpoch(epoch, epoch_);
        bytes32 payloadHash = keccak256(handshake);
        bytes32 digest = keccak256(abi.encode(HANDSHAKE_TAG, block.chainid, address(this), epoch_, payloadHash));
        address enclave = requireActive(digest, signature);
        bytes32 head = keccak256(abi.encode(handshakeHead, epoch_, enclave, payloadHash));
        handshakeHead = head;
        epoch = epoch_ + 1;
        emit HandshakeCommitted(epoch_, enclave, head, handshake);
    }

    /// @notice Orders one encrypted batch of `count` commands. The enclave signs (chain, contract,
    /// epoch, its own batch nonce, ciphertext hash): the nonce makes every signature single-use,
    /// and being per enclave it lets several nodes submit without racing for one counter.
    function submitBatch(
        uint64 epoch_,
        bytes calldata ciphertext,
        uint32 count,
        address enclave,
        bytes calldata signature
    ) external {
        if (count == 0 || ciphertext.length == 0) revert EmptyBatch();
        if (epoch_ != epoch) revert StaleEpoch(epoch, epoch_);
        bytes32 payloadHash = keccak256(ciphertext);
        if (recoverRaw(batchDigest(enclave, epoch_, payloadHash, count), signature) != enclave) {
            revert InvalidSignature();
        }
        Enclave storage e = enclaves[enclave];
        if (e.state == EnclaveState.None) revert NotRegistered(enclave);
        if (e.state != EnclaveState.Active) revert EnclaveNotActive(enclave, e.state);
        e.batchNonce += 1;

        uint64 first = commandCount;
        uint64 index = batchCount;
        bytes32 head = keccak256(abi.encode(batchHead, index, epoch_, first, count, enclave, payloadHash));
        batchHead = head;
        batchCount = index + 1;
        commandCount = first + count;
        emit BatchSubmitted(index, epoch_, first, count, enclave, head, ciphertext);
    }

    /// @notice An enclave commits the hash of a state snapshot so a joining enclave can check the
    /// snapshot a peer hands it.
    /// Bound to the enclave's record nonce, so an old commitment cannot be posted again after newer ones.
    function commitSnapshot(
        uint64 nonce,
        uint64 epoch_,
        uint64 sequence,
        bytes32 snapshotHash,
        bytes calldata signature
    ) external {
        bytes32 digest = keccak256(
            abi.encode(SNAPSHOT_TAG, block.chainid, address(this), nonce, epoch_, sequence, snapshotHash)
        );
        address enclave = requireActive(digest, signature);
        uint64 expected = takeRecordNonce(enclave, nonce);
        if (expected != nonce) revert StaleSnapshot(enclave, expected, nonce);
        emit SnapshotCommitted(enclave, epoch_, sequence, snapshotHash);
    }

    // ------------------------------------------------------------------ views

    function batchDigest(
        address enclave,
        uint64 epoch_,
        bytes32 ciphertextHash,
        uint32 count
    ) public view returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    BATCH_TAG,
                    block.chainid,
                    address(this),
                    epoch_,
                    enclaves[enclave].batchNonce,
                    ciphertextHash,
                    count
                )
            );
    }

    function getEnclave(address enclave) external view returns (Enclave memory) {
        return enclaves[enclave];
    }

    function enclaveCount() external view returns (uint256) {
        return enclaveList.length;
    }

    function enclaveAt(uint256 index) external view returns (address) {
        return enclaveList[index];
    }

    function isActive(address enclave) external view returns (bool) {
        return enclaves[enclave].state == EnclaveState.Active;
    }

    // ------------------------------------------------------------------ signatures

    function requireActive(bytes32 digest, bytes calldata signature) private view returns (address enclave) {
        enclave = recoverRaw(digest, signature);
        EnclaveState state = enclaves[enclave].state;
        if (state == EnclaveState.None) revert NotRegistered(enclave);
        if (state != EnclaveState.Active) revert EnclaveNotActive(enclave, state);
    }

    /// The enclave's record nonce as it was; consumed (incremented) only when `given` is it. The
    /// caller reverts with its record's own error otherwise, so a refusal names what was replayed.
    function takeRecordNonce(address enclave, uint64 given) private returns (uint64 expected) {
        Enclave storage e = enclaves[enclave];
        expected = e.recordNonce;
        if (given == expected) e.recordNonce = expected + 1;
    }

    function recoverPersonal(bytes32 digest, bytes calldata signature) private pure returns (address) {
        return recoverRaw(keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", digest)), signature);
    }

    function recoverRaw(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        if (signature.length != 65) revert InvalidSignature();
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) revert InvalidSignature();
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
    }
}
