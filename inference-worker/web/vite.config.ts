import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Static files only: everything (the sr25519 WASM included) is bundled from npm into dist/;
// nothing is fetched from a CDN at run time.
export default defineConfig({
  plugins: [react()],
  base: './',
  build: {
    outDir: 'dist',
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    sourcemap: false,
  },
});
