'use strict';
/** The mongodb driver that mongoose brings (the project does not depend on it directly). */
const path = require('node:path');

const mongooseDir = path.dirname(require.resolve('mongoose/package.json'));
module.exports = require(require.resolve('mongodb', { paths: [mongooseDir] }));
