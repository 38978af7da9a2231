import { testControlPlaneSetup } from "kube-operon/testkit";

// Passed to the test runner: node --test --test-global-setup=test/control-plane.ts
export const { globalSetup, globalTeardown } = testControlPlaneSetup();
