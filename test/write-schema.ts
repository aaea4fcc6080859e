/** Writes the config file's published JSON schema, `zh-self-instruct.schema.json` (`npm run schema`). */
import fs from 'node:fs';
import { configJsonSchema } from '../pipeline/config.ts';
import { packagePath } from '../pipeline/paths.ts';

fs.writeFileSync(packagePath('zh-self-instruct.schema.json'), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
