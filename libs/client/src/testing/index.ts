/**
 * Test doubles for code that uses `@sofareg/client`: an in-memory session (`FakeSession` +
 * `fakeSessionTransport`), a hand-driven transport (`ScriptedTransport`), a manual clock, a seeded PRNG,
 * and `waitFor`. For specs only.
 */
export { FakeSession, FakeSessionConnection, fakeSessionTransport } from './fake-session';
export { ManualClock, seededRandom, sequentialIds } from './manual-clock';
export { ScriptedConnection, ScriptedTransport } from './scripted-transport';
export { waitFor } from './wait-for';
