-- What a server was installed from (a curated template), the OAuth scopes to ask when its
-- authorization server names none, and where to ask who a token belongs to (a userinfo-like URL).
ALTER TABLE servers ADD COLUMN template text;
ALTER TABLE servers ADD COLUMN scopes text;
ALTER TABLE servers ADD COLUMN userinfo_endpoint text;
