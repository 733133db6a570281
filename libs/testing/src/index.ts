// Specs start real servers with the launcher that `npm start` uses; test-only helpers go here.
export * from '@sofareg/launcher';
