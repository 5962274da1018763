/**
 * zod/mini loads no messages, so every issue would read "Invalid input". Importing this module
 * (for its side effect) installs the English messages classic zod uses, once per process.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());
