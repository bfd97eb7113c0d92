// Hardhat's own network, run by test/support/hardhat.ts as a second Ethereum implementation beside
// Anvil. Nothing is compiled with Hardhat (the tests deploy the bytecode the build made), so no
// solidity section: Hardhat then never downloads a compiler.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      mining: { auto: true },
    },
  },
};
