-- The audit schema (requests, attempts) as an idempotent script: safe on an empty database and on one at any
-- migration; each migration runs once, recorded in "__EFMigrationsHistory".
-- GENERATED from migrations/Worker.Migrations, do not edit: regenerate with `ops/migrate.sh script`.

CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
    "MigrationId" character varying(150) NOT NULL,
    "ProductVersion" character varying(32) NOT NULL,
    CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY ("MigrationId")
);

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121000000_InitialAudit') THEN
    CREATE TABLE requests (
        request_id uuid NOT NULL,
        conversation_id character varying(256),
        chain character varying(128) NOT NULL,
        status character varying(32) NOT NULL,
        received_at timestamp with time zone NOT NULL,
        first_attempt_at timestamp with time zone,
        completed_at timestamp with time zone,
        provider character varying(128),
        model character varying(128),
        fallback_used boolean NOT NULL,
        attempt_count integer NOT NULL,
        input_tokens integer,
        output_tokens integer,
        estimated_cost_usd numeric(18,8),
        failure_reason character varying(64),
        error text,
        metadata jsonb,
        replay_count integer NOT NULL,
        prompt_hash character varying(64),
        prompt text,
        response_hash character varying(64),
        response text,
        CONSTRAINT "PK_requests" PRIMARY KEY (request_id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121000000_InitialAudit') THEN
    CREATE TABLE attempts (
        id bigint GENERATED ALWAYS AS IDENTITY,
        request_id uuid NOT NULL,
        step_index integer NOT NULL,
        provider character varying(128) NOT NULL,
        model character varying(128) NOT NULL,
        attempt integer NOT NULL,
        started_at timestamp with time zone NOT NULL,
        ended_at timestamp with time zone NOT NULL,
        latency_ms integer NOT NULL,
        call_made boolean NOT NULL,
        outcome character varying(16) NOT NULL,
        error_class character varying(32),
        http_status integer,
        retry_after_ms integer,
        decision character varying(16) NOT NULL,
        wait_ms integer,
        note text,
        detail text,
        input_tokens integer,
        output_tokens integer,
        cost_usd numeric(18,8),
        CONSTRAINT "PK_attempts" PRIMARY KEY (id),
        CONSTRAINT "FK_attempts_requests_request_id" FOREIGN KEY (request_id) REFERENCES requests (request_id) ON DELETE CASCADE
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121000000_InitialAudit') THEN
    CREATE INDEX ix_attempts_provider_model_started_at ON attempts (provider, model, started_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121000000_InitialAudit') THEN
    CREATE INDEX ix_attempts_request_id ON attempts (request_id, id);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121000000_InitialAudit') THEN
    CREATE INDEX ix_attempts_started_at ON attempts (started_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121000000_InitialAudit') THEN
    CREATE INDEX ix_requests_received_at ON requests (received_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121000000_InitialAudit') THEN
    CREATE INDEX ix_requests_status_received_at ON requests (status, received_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121000000_InitialAudit') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261121000000_InitialAudit', '10.0.0');
    END IF;
END $EF$;
COMMIT;
