// Where Converc answers: the hosted service, or a self-hosted server (CONVERC_BASE_URL).
const baseUrl = () => (process.env.CONVERC_BASE_URL || 'https://api.converc.com').replace(/\/+$/, '');

module.exports = { baseUrl };
