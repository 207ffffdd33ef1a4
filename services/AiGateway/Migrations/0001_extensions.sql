-- pgvector backs the semantic response cache (embeddings of prompts).
CREATE EXTENSION IF NOT EXISTS vector SCHEMA public;
