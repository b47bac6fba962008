// Configuration for the knex CLI (`npx knex migrate:latest`), built by the same loader the
// service uses, so both always talk to the same database with the same migrations.
import { loadConfig } from './src/config';
import { knexConfigFor } from './src/db/database';

export default knexConfigFor(loadConfig(process.env).database);
