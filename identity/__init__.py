"""Who is calling and what they may do: accounts, tokens, roles, the permission each route
declares, jurisdiction filters and the audit trail. The API and the console call it; the engine
never sees a token, only the plain filters (candidate groups and users, tenants) it is given."""
