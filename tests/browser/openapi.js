// openapi.js: validate the appliance's OpenAPI document with an independent validator and
// print its paths and methods as JSON.   node openapi.js URL
const SwaggerParser = require('@apidevtools/swagger-parser');
const http = require('http');

http.get(process.argv[2], res => {
  let body = '';
  res.on('data', d => (body += d));
  res.on('end', async () => {
    try {
      const api = await SwaggerParser.validate(JSON.parse(body));
      const paths = {};
      for (const [p, ops] of Object.entries(api.paths)) paths[p] = Object.keys(ops).sort();
      console.log(JSON.stringify({ valid: true, version: api.openapi, paths }));
    } catch (e) {
      console.log(JSON.stringify({ valid: false, error: String(e.message) }));
      process.exit(1);
    }
  });
}).on('error', e => { console.error(e); process.exit(1); });
