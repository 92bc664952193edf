import { setLogLevel } from '../src/log/logger.js';

// Tests assert behaviour, not log lines; keep their output readable.
setLogLevel('warn');
