/** `npm run stop`: stops the code-server that `npm start` left running. */
import { stopPrevious } from './start';

stopPrevious();
console.log('[stop] stopped the code-server started by npm start (if it was running)');
