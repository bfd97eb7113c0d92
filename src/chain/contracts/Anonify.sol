// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Anonify: orders encrypted state transitions of attested enclaves.
/// @notice The contract never sees plaintext. It keeps the owner's attestation policy, the registry of
/// enclaves whose attestation report it checked, the MLS epoch (a compare-and-swap register that
/// totally orders group handshakes) and one sequence over every event an enclave acts on (see
/// `position`). Ciphertext goes to events only (calldata + log is the cheap path); storage holds
/// counters and hashes.
contract Anonify {
    // ----- domain tags: every signature names what it signs, the chain and this contract -----
    bytes32 public constant REPORT_TAG = keccak256("anonify.attestation-report.v1");
    bytes32 public constant BINDING_TAG = keccak256("anonify.enclave-binding.v2");
    bytes32 public constant HANDSHAKE_TAG = keccak256("anonify.handshake.v1");
    bytes32 public constant BATCH_TAG = keccak256("anonify.batch.v1");
    bytes32 public constant KEY_PACKAGE_TAG = keccak256("anonify.key-package.v1");
    bytes32 public constant LEAVE_TAG = keccak256("anonify.leave.v1");
    bytes32 public constant SNAPSHOT_TAG = keccak256("anonify.snapshot.v1");
    bytes32 public constant PEER_TAG = keccak256("anonify.peer.v1");
    bytes32 public constant OUTPUTS_TAG = keccak256("anonify.outputs.v1");

    // ----- the event sequence: each event an enclave acts on is one item, tagged by its kind
    bytes32 public constant REGISTERED_ITEM = keccak256("anonify.event.enclave-registered.v1");
    bytes32 public constant LEFT_ITEM = keccak256("anonify.event.enclave-left.v1");
    bytes32 public constant POLICY_ITEM = keccak256("anonify.event.policy-published.v1");
    bytes32 public constant COLLATERAL_ITEM = keccak256("anonify.event.collateral-published.v1");
    bytes32 public constant KEY_PACKAGE_ITEM = keccak256("anonify.event.key-package-published.v1");
    bytes32 public constant HANDSHAKE_ITEM = keccak256("anonify.event.handshake-committed.v1");
    bytes32 public constant BATCH_ITEM = keccak256("anonify.event.batch-submitted.v1");
    bytes32 public constant SNAPSHOT_ITEM = keccak256("anonify.event.snapshot-committed.v1");
    /// Heads kept for `headAt`: positions older than this are no longer checkable here.
    uint64 public constant HEAD_WINDOW = 1024;

    // ----- what an enclave takes of each event (src/boundary/chain-events.ts): every enclave applies
    // every event of the sequence in order and skips none, so one it would refuse would halt them all
    uint256 public constant MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
    uint256 public constant MAX_EVIDENCE_BYTES = 64 * 1024;
    uint256 public constant MAX_HPKE_KEY_BYTES = 256;
    uint256 public constant MAX_POLICY_BYTES = 16 * 1024;
    uint256 public constant MAX_POLICY_SIGNATURES = 32;
    /// A signature and the compressed public key that made it (src/protocol/policy-document.ts).
    uint256 public constant MAX_POLICY_SIGNATURE_BYTES = 98;
    uint256 public constant MAX_COLLATERAL_BYTES = 64 * 1024;
    /// A peer's announced URL (src/protocol/peer-url.ts): a scheme, a host and a port fit in far less.
    uint256 public constant MAX_PEER_URL_BYTES = 256;
    /// A batch's public outputs record (src/protocol/public-outputs.ts): the largest padding bucket.
    uint256 public constant MAX_OUTPUTS_BYTES = 1024 * 1024;

    uint8 public constant PLATFORM_SIM = 0;
    uint8 public constant PLATFORM_SGX = 1;
    uint8 public constant PLATFORM_TDX = 2;
    uint8 public constant PLATFORM_NITRO = 3;
    uint8 public constant PLATFORM_SEV_SNP = 4;

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
        /// leave, peer URL): each such signature names it and is usable once, in order (`takeRecordNonce`).
        uint64 recordNonce;
        /// Block time of its last membership-neutral commit (a key rotation): see `rotationInterval`.
        uint32 lastRotation;
        bytes32 measurement;
        bytes hpkePublicKey;
        /// The app the enclave runs (its name, code hash and state version, `appIdOf` off chain), as
        /// its quote binds it: members admit only their own app or an upgrade a signed policy names.
        bytes32 app;
    }

    address public owner;
    /// The owner `transferOwnership` named, until it calls `acceptOwnership`: a mistyped address
    /// takes nothing, and the owner can name another (or zero, to withdraw the offer) until then.
    address public pendingOwner;
    mapping(bytes32 => bool) public allowedMeasurements;
    mapping(address => bool) public trustedSigners;
    bool public debugAllowed;
    uint64 public maxReportAge;
    /// Seconds one enclave must wait between two key rotations (commits that change no membership,
    /// as the enclave's signature says): each landed handshake makes every batch in flight revert
    /// `StaleEpoch`, so one member's host could otherwise stall ordering for everyone. Adds and
    /// removals are not limited: they are what the group exists to do.
    uint32 public rotationInterval;
    uint32 public constant DEFAULT_ROTATION_INTERVAL = 60;

    mapping(address => Enclave) private enclaves;
    address[] private enclaveList;

    /// MLS epoch of the group; a handshake is accepted only for this epoch, then it increments.
    uint64 public epoch;
    /// Number of commands ordered so far; the next batch's first command gets this sequence.
    uint64 public commandCount;
    /// Number of batches ordered so far.
    uint64 public batchCount;
    /// Number of sequenced events so far: the last one's position (`seq`), 0 before any.
    uint64 public eventCount;
    /// The event hash chain's head after each position, in a ring of HEAD_WINDOW slots (see `position`).
    mapping(uint256 => bytes32) private heads;
    /// Per batch index, in a ring of HEAD_WINDOW slots like `heads`: its submitter and its event's
    /// position, packed in one slot (`seq << 160 | enclave`), so that `publishOutputs` knows whose
    /// record to take. A ring, since a record is taken only while its batch's head is held: ~5,000 gas
    /// per batch once it has wrapped, not the ~22,000 of a slot per batch for good.
    mapping(uint256 => uint256) private batchSubmissions;
    /// @notice keccak256 of the public outputs record published for a batch (zero: none yet), so that
    /// another contract can check outputs it is handed against what the batch's enclave published.
    mapping(uint64 => bytes32) public outputsHash;

    /// @notice The URL at which an enclave's node serves its API and state snapshots, as its enclave
    /// signed it: hosts and clients read it to find peers. Not in the sequence (see `announcePeer`).
    event PeerAnnounced(address indexed enclave, string url);
    /// @notice The public outputs of batch `batch` (what its commands chose to publish), signed by the
    /// enclave that submitted it after applying it. Not in the sequence (see `publishOutputs`).
    event OutputsPublished(uint64 indexed batch, address indexed enclave, uint64 seq, bytes outputs, bytes signature);
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event MeasurementAllowed(bytes32 indexed measurement, bool allowed);
    event TrustedSignerSet(address indexed signer, bool trusted);
    event DebugAllowedSet(bool allowed);
    event MaxReportAgeSet(uint64 maxReportAge);
    event RotationIntervalSet(uint32 rotationInterval);
    // Every event an enclave acts on names its place in one sequence (`seq`, indexed first so that a
    // client finds the event at a position with one topic), the block time it was ordered at, and the
    // event hash chain's head after it (`position`).
    event EnclaveRegistered(
        uint64 indexed seq,
        address indexed enclave,
        uint8 platform,
        bytes32 measurement,
        bool debug,
        bytes hpkePublicKey,
        bytes32 app,
        bytes report,
        bytes reportSignature,
        bytes evidence,
        uint64 timestamp,
        bytes32 head
    );
    event EnclaveRevoked(address indexed enclave);
    event EnclaveLeft(
        uint64 indexed seq,
        address indexed enclave,
        uint64 nonce,
        bytes signature,
        uint64 timestamp,
        bytes32 head
    );
    /// @notice A signed policy document (src/protocol/policy-document.ts), as anyone published it.
    event PolicyPublished(uint64 indexed seq, bytes document, bytes[] signatures, uint64 timestamp, bytes32 head);
    /// @notice Intel PCS collateral (src/protocol/collateral-record.ts), as anyone published it.
    event CollateralPublished(uint64 indexed seq, bytes collateral, uint64 timestamp, bytes32 head);
    event KeyPackagePublished(
        uint64 indexed seq,
        address indexed enclave,
        uint64 nonce,
        bytes keyPackage,
        bytes signature,
        uint64 timestamp,
        bytes32 head
    );
    // An enclave's signed outputs name the point of the sequence they were made at (`baseSeq`, `at`):
    // the signature covers the contract's head there, so an enclave whose host fed it a history of
    // its own making gets nothing ordered, and every enclave checks the others' against its own.
    event HandshakeCommitted(
        uint64 indexed seq,
        uint64 indexed epoch,
        address indexed enclave,
        bool rotation,
        uint64 baseSeq,
        bytes handshake,
        bytes signature,
        uint64 timestamp,
        bytes32 head
    );
    /// `stateDigest`: the submitter's digest of the replicated state at `baseSeq` (keyed by a group
    /// secret: it reveals nothing), which every member compares with its own.
    event BatchSubmitted(
        uint64 indexed seq,
        uint64 indexed batch,
        uint64 indexed baseSeq,
        address enclave,
        uint64 epoch,
        uint64 firstSequence,
        uint32 count,
        bytes32 stateDigest,
        bytes ciphertext,
        bytes signature,
        uint64 timestamp,
        bytes32 head
    );
    /// The hash of the state snapshot for the joiners of handshake slot `epoch`, captured at position
    /// `at` (that handshake's), and the state digest there.
    event SnapshotCommitted(
        uint64 indexed seq,
        address indexed enclave,
        uint64 nonce,
        uint64 epoch,
        uint64 at,
        bytes32 stateDigest,
        bytes32 snapshotHash,
        bytes signature,
        uint64 timestamp,
        bytes32 head
    );

    error NotOwner(address caller);
    error NotPendingOwner(address caller);
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
    error RotationTooSoon(address enclave, uint64 allowedAt);
    error EmptyBatch();
    error EmptyPayload();
    error MalformedReport();
    /// A record signed for another record nonce than the enclave's next one (a replay, or a host
    /// that asked its enclave to sign for a wrong nonce).
    error StaleKeyPackage(address enclave, uint64 expected, uint64 given);
    error StaleLeave(address enclave, uint64 expected, uint64 given);
    error StaleSnapshot(address enclave, uint64 expected, uint64 given);
    error StalePeer(address enclave, uint64 expected, uint64 given);
    /// A payload larger than enclaves take (it would halt every enclave at its place in the sequence).
    error PayloadTooLarge(uint256 length, uint256 max);
    /// A position this contract no longer (or not yet) holds the head of.
    error PositionOutOfWindow(uint64 seq, uint64 eventCount);
    /// No batch with this index has been ordered.
    error UnknownBatch(uint64 batch);
    /// A batch's outputs are published once.
    error OutputsAlreadyPublished(uint64 batch);
    /// Outputs signed for another position than the batch's event.
    error BatchPositionMismatch(uint64 batch, uint64 expected, uint64 given);
    /// Outputs signed by an active enclave that did not submit the batch.
    error NotBatchSubmitter(uint64 batch, address enclave);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor(address owner_, uint64 maxReportAge_) {
        if (owner_ == address(0)) revert ZeroAddress();
        owner = owner_;
        maxReportAge = maxReportAge_;
        rotationInterval = DEFAULT_ROTATION_INTERVAL;
        emit OwnershipTransferred(address(0), owner_);
        emit MaxReportAgeSet(maxReportAge_);
        emit RotationIntervalSet(DEFAULT_ROTATION_INTERVAL);
    }

    // ------------------------------------------------------------------ owner policy

    /// First of two steps: ownership moves only when `newOwner` accepts it, so a key no one holds
    /// cannot become the owner. Zero withdraws an offer.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
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

    function setRotationInterval(uint32 seconds_) external onlyOwner {
        rotationInterval = seconds_;
        emit RotationIntervalSet(seconds_);
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
    function bindingOf(address enclave, bytes calldata hpkePublicKey, bytes32 app) public view returns (bytes32) {
        return keccak256(abi.encode(BINDING_TAG, enclave, keccak256(hpkePublicKey), app, block.chainid, address(this)));
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
        bytes32 app,
        bytes calldata evidence
    ) external {
        if (enclave == address(0)) revert ZeroAddress();
        if (evidence.length == 0) revert EmptyPayload();
        bounded(evidence.length, MAX_EVIDENCE_BYTES);
        bounded(hpkePublicKey.length, MAX_HPKE_KEY_BYTES);
        if (enclaves[enclave].state != EnclaveState.None) revert AlreadyRegistered(enclave);
        // A report is seven 32-byte ABI words; anything else is not ours.
        if (report.length != 7 * 32) revert MalformedReport();
        AttestationReport memory r = abi.decode(report, (AttestationReport));

        address signer = recoverPersonal(reportDigest(report), signature);
        if (!trustedSigners[signer]) revert UntrustedReportSigner(signer);
        if (r.platform > PLATFORM_SEV_SNP) revert UnknownPlatform(r.platform);
        if (!allowedMeasurements[r.measurement]) revert MeasurementNotAllowed(r.measurement);
        // The simulated platform is debug by nature: it never passes a no-debug policy.
        if ((r.debug || r.platform == PLATFORM_SIM) && !debugAllowed) revert DebugNotAllowed();
        if (r.issuedAt > block.timestamp + 5 minutes) revert ReportFromFuture(r.issuedAt, block.timestamp);
        if (block.timestamp > uint256(r.issuedAt) + maxReportAge) {
            revert ReportTooOld(r.issuedAt, maxReportAge, block.timestamp);
        }
        bytes32 expected = bindingOf(enclave, hpkePublicKey, app);
        if (r.reportData != expected) revert BindingMismatch(expected, r.reportData);

        enclaves[enclave] = Enclave({
            state: EnclaveState.Active,
            platform: r.platform,
            debug: r.debug || r.platform == PLATFORM_SIM,
            registeredAt: uint64(block.timestamp),
            batchNonce: 0,
            recordNonce: 0,
            lastRotation: 0,
            measurement: r.measurement,
            hpkePublicKey: hpkePublicKey,
            app: app
        });
        enclaveList.push(enclave);
        bytes32 item = keccak256(
            abi.encode(
                REGISTERED_ITEM,
                enclave,
                r.platform,
                r.measurement,
                r.debug,
                sha256(hpkePublicKey),
                app,
                sha256(report),
                sha256(signature),
                sha256(evidence)
            )
        );
        (uint64 seq, uint64 timestamp, bytes32 head) = position(item);
        emit EnclaveRegistered(
            seq,
            enclave,
            r.platform,
            r.measurement,
            r.debug,
            hpkePublicKey,
            app,
            report,
            signature,
            evidence,
            timestamp,
            head
        );
    }

    // Records an enclave signs about itself (key package, snapshot commitment, leave, peer URL) name
    // its record nonce; each is accepted only for the current one, which it uses up. Without it a key package
    // signature stayed valid forever: a host could publish an old key package again after a newer
    // one, making a consumed or abandoned one the enclave's latest. A per-enclave counter, not the
    // group's epoch: only the enclave's own host sends its records, so they never race other nodes'
    // handshakes; one counter for all, so a record signed before the enclave's later ones is
    // void after them. The nonce is public: the host reads it (`getEnclave`) and has its enclave sign
    // for it; a wrong one only makes the host's own transaction fail (liveness), and the enclave
    // never signs a key package for a lower nonce than before, so signatures a host gathers ahead
    // cannot bring an old key package back after a newer one.

    /// @notice An enclave publishes an MLS KeyPackage so that a member can add it to the group.
    function publishKeyPackage(uint64 nonce, bytes calldata keyPackage, bytes calldata signature) external {
        if (keyPackage.length == 0) revert EmptyPayload();
        bounded(keyPackage.length, MAX_PAYLOAD_BYTES);
        bytes32 digest = keccak256(
            abi.encode(KEY_PACKAGE_TAG, block.chainid, address(this), nonce, sha256(keyPackage))
        );
        address enclave = requireActive(digest, signature);
        uint64 expected = takeRecordNonce(enclave, nonce);
        if (expected != nonce) revert StaleKeyPackage(enclave, expected, nonce);
        bytes32 item = keccak256(
            abi.encode(KEY_PACKAGE_ITEM, enclave, nonce, sha256(keyPackage), sha256(signature))
        );
        (uint64 seq, uint64 timestamp, bytes32 head) = position(item);
        emit KeyPackagePublished(seq, enclave, nonce, keyPackage, signature, timestamp, head);
    }

    /// @notice An enclave leaves on its own: members then commit its removal. Leaving is final; the
    /// record nonce keeps a leave signed before the enclave's later records from being used after them.
    function leave(uint64 nonce, bytes calldata signature) external {
        bytes32 digest = keccak256(abi.encode(LEAVE_TAG, block.chainid, address(this), nonce));
        address enclave = requireActive(digest, signature);
        uint64 expected = takeRecordNonce(enclave, nonce);
        if (expected != nonce) revert StaleLeave(enclave, expected, nonce);
        enclaves[enclave].state = EnclaveState.Left;
        bytes32 item = keccak256(abi.encode(LEFT_ITEM, enclave, nonce, sha256(signature)));
        (uint64 seq, uint64 timestamp, bytes32 head) = position(item);
        emit EnclaveLeft(seq, enclave, nonce, signature, timestamp, head);
    }

    /// @notice An enclave's node announces the URL at which it serves its API and state snapshots, so
    /// that a joining node finds its peers on chain. Signed by the enclave for its record nonce (as its
    /// other records): nobody else announces for it, and an old announcement cannot be posted again
    /// after a newer one. Not in the event sequence (no `position`, the hash chain unchanged): no
    /// enclave acts on it, only hosts and clients read it, and a URL that lies costs a joiner a retry
    /// with the next peer (it checks the bytes against the hash committed on chain).
    function announcePeer(uint64 nonce, string calldata url, bytes calldata signature) external {
        bytes calldata raw = bytes(url);
        if (raw.length == 0) revert EmptyPayload();
        bounded(raw.length, MAX_PEER_URL_BYTES);
        bytes32 digest = keccak256(abi.encode(PEER_TAG, block.chainid, address(this), nonce, keccak256(raw)));
        address enclave = requireActive(digest, signature);
        uint64 expected = takeRecordNonce(enclave, nonce);
        if (expected != nonce) revert StalePeer(enclave, expected, nonce);
        emit PeerAnnounced(enclave, url);
    }

    /// @notice Publishes batch `batch`'s public outputs, signed by the enclave that submitted it over
    /// (chain, contract, batch, its event's `seq` and the head there, keccak256(outputs)). Once per
    /// batch. Not in the event sequence (like `announcePeer`): no enclave needs it to apply anything;
    /// members check it against their own outputs (src/enclave/calls/outputs.ts) and readers against
    /// the signature. A record never published costs only its readers (liveness).
    function publishOutputs(uint64 batch, uint64 seq, bytes calldata outputs, bytes calldata signature) external {
        if (outputs.length == 0) revert EmptyPayload();
        bounded(outputs.length, MAX_OUTPUTS_BYTES);
        if (batch >= batchCount) revert UnknownBatch(batch);
        if (outputsHash[batch] != bytes32(0)) revert OutputsAlreadyPublished(batch);
        // Out of the window first: the batch's slot of the ring may hold a later batch by then.
        bytes32 head = headAt(seq);
        uint256 submission = batchSubmissions[batch % HEAD_WINDOW];
        uint64 batchSeq = uint64(submission >> 160);
        if (seq != batchSeq) revert BatchPositionMismatch(batch, batchSeq, seq);
        bytes32 hash = keccak256(outputs);
        bytes32 digest = keccak256(abi.encode(OUTPUTS_TAG, block.chainid, address(this), batch, seq, head, hash));
        address enclave = requireActive(digest, signature);
        if (enclave != address(uint160(submission))) revert NotBatchSubmitter(batch, enclave);
        outputsHash[batch] = hash;
        emit OutputsPublished(batch, enclave, seq, outputs, signature);
    }

    // ------------------------------------------------------------------ signed policies

    /// @notice Publishes a policy document signed by the deployment's policy keys, so that every
    /// enclave reads the same documents in one order. Anyone may call it and nothing is checked or
    /// stored here: each enclave verifies the document and its signatures against the keys pinned in
    /// its measured build, and ignores what does not verify. Only the event carries it.
    function publishPolicy(bytes calldata document, bytes[] calldata signatures) external {
        if (document.length == 0) revert EmptyPayload();
        bounded(document.length, MAX_POLICY_BYTES);
        bounded(signatures.length, MAX_POLICY_SIGNATURES);
        for (uint256 i = 0; i < signatures.length; i++) bounded(signatures[i].length, MAX_POLICY_SIGNATURE_BYTES);
        bytes32 item = keccak256(abi.encode(POLICY_ITEM, sha256(document), sha256(abi.encode(signatures))));
        (uint64 seq, uint64 timestamp, bytes32 head) = position(item);
        emit PolicyPublished(seq, document, signatures, timestamp, head);
    }

    /// @notice Publishes Intel PCS collateral (TCB info, QE identity, CRLs and their issuer chains)
    /// so that every enclave judges SGX and TDX quotes against the same collateral, read in one
    /// order. Anyone may call it and nothing is checked or stored here: collateral is Intel-signed,
    /// and each enclave verifies it against the Intel root pinned in its measured build and keeps
    /// the freshest set per platform, FMSPC and PCK CA. Only the event carries it.
    function publishCollateral(bytes calldata collateral) external {
        if (collateral.length == 0) revert EmptyPayload();
        bounded(collateral.length, MAX_COLLATERAL_BYTES);
        (uint64 seq, uint64 timestamp, bytes32 head) = position(
            keccak256(abi.encode(COLLATERAL_ITEM, sha256(collateral)))
        );
        emit CollateralPublished(seq, collateral, timestamp, head);
    }

    // ------------------------------------------------------------------ ordering

    /// @notice Orders one MLS handshake (Commit, with its Welcome if any). Compare-and-swap on the
    /// epoch: of concurrent commits for one epoch, exactly one lands and the others revert.
    /// The committer signs the point of the sequence it made the commit at (`baseSeq`, by the
    /// contract's head there).
    /// `rotation`: the commit changes no membership (a key rotation), as its enclave signs it and
    /// every member checks when it applies it (a commit whose flag is false is void for them).
    function commitHandshake(
        uint64 epoch_,
        bytes calldata handshake,
        bool rotation,
        uint64 baseSeq,
        bytes calldata signature
    ) external {
        if (handshake.length == 0) revert EmptyPayload();
        bounded(handshake.length, MAX_PAYLOAD_BYTES);
        if (epoch_ != epoch) revert StaleEpoch(epoch, epoch_);
        bytes32 payloadHash = sha256(handshake);
        bytes32 digest = keccak256(
            abi.encode(
                HANDSHAKE_TAG, block.chainid, address(this), epoch_, payloadHash, rotation, baseSeq, headAt(baseSeq)
            )
        );
        address enclave = requireActive(digest, signature);
        if (rotation) {
            Enclave storage e = enclaves[enclave];
            uint64 allowedAt = e.lastRotation == 0 ? 0 : uint64(e.lastRotation) + rotationInterval;
            if (block.timestamp < allowedAt) revert RotationTooSoon(enclave, allowedAt);
            e.lastRotation = uint32(block.timestamp);
        }
        epoch = epoch_ + 1;
        (uint64 seq, uint64 timestamp, bytes32 head) = position(
            keccak256(abi.encode(HANDSHAKE_ITEM, epoch_, enclave, payloadHash, rotation, baseSeq, sha256(signature)))
        );
        emit HandshakeCommitted(seq, epoch_, enclave, rotation, baseSeq, handshake, signature, timestamp, head);
    }

    /// @notice Orders one encrypted batch of `count` commands. The enclave signs (chain, contract,
    /// epoch, its own batch nonce, ciphertext hash, the point it sealed the batch at and its state
    /// digest there): the nonce makes every signature single-use, and being per enclave it lets
    /// several nodes submit without racing for one counter; the point is checked against the
    /// contract's head there (within HEAD_WINDOW).
    function submitBatch(
        uint64 epoch_,
        bytes calldata ciphertext,
        uint32 count,
        address enclave,
        uint64 baseSeq,
        bytes32 stateDigest,
        bytes calldata signature
    ) external {
        if (count == 0 || ciphertext.length == 0) revert EmptyBatch();
        bounded(ciphertext.length, MAX_PAYLOAD_BYTES);
        if (epoch_ != epoch) revert StaleEpoch(epoch, epoch_);
        bytes32 payloadHash = sha256(ciphertext);
        if (
            recoverRaw(batchDigest(enclave, epoch_, payloadHash, count, baseSeq, stateDigest), signature) != enclave
        ) {
            revert InvalidSignature();
        }
        Enclave storage e = enclaves[enclave];
        if (e.state == EnclaveState.None) revert NotRegistered(enclave);
        if (e.state != EnclaveState.Active) revert EnclaveNotActive(enclave, e.state);
        e.batchNonce += 1;

        uint64 first = commandCount;
        uint64 index = batchCount;
        batchCount = index + 1;
        commandCount = first + count;
        bytes32 item = keccak256(
            abi.encode(
                BATCH_ITEM,
                index,
                epoch_,
                first,
                count,
                enclave,
                payloadHash,
                baseSeq,
                stateDigest,
                sha256(signature)
            )
        );
        (uint64 seq, uint64 timestamp, bytes32 head) = position(item);
        batchSubmissions[index % HEAD_WINDOW] = (uint256(seq) << 160) | uint160(enclave);
        emit BatchSubmitted(
            seq,
            index,
            baseSeq,
            enclave,
            epoch_,
            first,
            count,
            stateDigest,
            ciphertext,
            signature,
            timestamp,
            head
        );
    }

    /// @notice An enclave commits the hash of a state snapshot, with the state digest at the position
    /// it was captured at (`at`, the handshake that added the joiners, checked against the contract's
    /// head there), so a joining enclave can check the snapshot a peer hands it. Bound to the enclave's
    /// record nonce, so an old commitment cannot be posted again after newer ones.
    function commitSnapshot(
        uint64 nonce,
        uint64 epoch_,
        uint64 at,
        bytes32 stateDigest,
        bytes32 snapshotHash,
        bytes calldata signature
    ) external {
        bytes32 digest = keccak256(
            abi.encode(
                SNAPSHOT_TAG,
                block.chainid,
                address(this),
                nonce,
                epoch_,
                at,
                headAt(at),
                stateDigest,
                snapshotHash
            )
        );
        address enclave = requireActive(digest, signature);
        uint64 expected = takeRecordNonce(enclave, nonce);
        if (expected != nonce) revert StaleSnapshot(enclave, expected, nonce);
        (uint64 seq, uint64 timestamp, bytes32 head) = position(
            keccak256(
                abi.encode(SNAPSHOT_ITEM, enclave, nonce, epoch_, at, stateDigest, snapshotHash, sha256(signature))
            )
        );
        emit SnapshotCommitted(seq, enclave, nonce, epoch_, at, stateDigest, snapshotHash, signature, timestamp, head);
    }

    // ------------------------------------------------------------------ the event sequence

    /// Every event an enclave acts on (registrations, key packages, leaves, policy documents,
    /// collateral, handshakes, batches, snapshot commitments) takes the next position in one sequence,
    /// and the hash chain `head = keccak256(abi.encode(previous head, seq, timestamp, item))` covers it,
    /// where `item` hashes the event's fields under its kind's tag, each byte string by its SHA-256
    /// (src/protocol/event-chain.ts computes the same). SHA-256, not keccak-256, for the payloads that
    /// every enclave hashes again (ciphertexts, handshakes, evidence, documents): the precompile costs
    /// ~12 gas per word against keccak's 6, and JavaScript hashes SHA-256 ~5x faster (0.12 against
    /// 0.62 ms per 16 KiB batch here, in each enclave). An enclave applies events strictly in this order and recomputes the chain, so its
    /// host can withhold a suffix of the sequence but not drop, reorder or replace an event unseen: the
    /// head an enclave reaches is a commitment to exactly what it was fed. The time is the block's, so
    /// that every enclave decides from the same inputs.
    function position(bytes32 item) private returns (uint64 seq, uint64 timestamp, bytes32 head) {
        uint64 previous = eventCount;
        seq = previous + 1;
        timestamp = uint64(block.timestamp);
        head = keccak256(abi.encode(previous == 0 ? bytes32(0) : heads[previous % HEAD_WINDOW], seq, timestamp, item));
        heads[seq % HEAD_WINDOW] = head;
        eventCount = seq;
    }

    /// @notice The event hash chain's head after position `seq` (0: before any event, the zero hash),
    /// for the last HEAD_WINDOW positions.
    function headAt(uint64 seq) public view returns (bytes32) {
        uint64 count = eventCount;
        if (seq > count || count - seq >= HEAD_WINDOW) revert PositionOutOfWindow(seq, count);
        return seq == 0 ? bytes32(0) : heads[seq % HEAD_WINDOW];
    }

    /// @notice The head after the last event (the zero hash before any).
    function eventHead() external view returns (bytes32) {
        uint64 count = eventCount;
        return count == 0 ? bytes32(0) : heads[count % HEAD_WINDOW];
    }

    // ------------------------------------------------------------------ views

    function batchDigest(
        address enclave,
        uint64 epoch_,
        bytes32 ciphertextHash,
        uint32 count,
        uint64 baseSeq,
        bytes32 stateDigest
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
                    count,
                    baseSeq,
                    headAt(baseSeq),
                    stateDigest
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

    function bounded(uint256 length, uint256 max) private pure {
        if (length > max) revert PayloadTooLarge(length, max);
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
