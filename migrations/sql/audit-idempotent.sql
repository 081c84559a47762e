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
    VALUES ('20261121000000_InitialAudit', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE TABLE provider_pings (
        id bigint GENERATED ALWAYS AS IDENTITY,
        provider character varying(128) NOT NULL,
        model character varying(128) NOT NULL,
        slot bigint NOT NULL,
        pinged_at timestamp with time zone NOT NULL,
        latency_ms integer NOT NULL,
        outcome character varying(16) NOT NULL,
        error_class character varying(32),
        http_status integer,
        detail text,
        instance character varying(128) NOT NULL,
        CONSTRAINT "PK_provider_pings" PRIMARY KEY (id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE TABLE provider_health_slots (
        job character varying(300) NOT NULL,
        slot bigint NOT NULL,
        claimed_by character varying(128) NOT NULL,
        claimed_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_provider_health_slots" PRIMARY KEY (job, slot)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE TABLE breaker_events (
        id bigint GENERATED ALWAYS AS IDENTITY,
        provider character varying(128) NOT NULL,
        model character varying(128) NOT NULL,
        transition character varying(16) NOT NULL,
        at timestamp with time zone NOT NULL,
        instance character varying(128) NOT NULL,
        CONSTRAINT "PK_breaker_events" PRIMARY KEY (id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE TABLE provider_alerts (
        id uuid NOT NULL,
        rule character varying(64) NOT NULL,
        provider character varying(128) NOT NULL,
        model character varying(128) NOT NULL,
        raised_at timestamp with time zone NOT NULL,
        resolved_at timestamp with time zone,
        detail text NOT NULL,
        CONSTRAINT "PK_provider_alerts" PRIMARY KEY (id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE INDEX ix_provider_pings_provider_model_pinged_at ON provider_pings (provider, model, pinged_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE INDEX ix_provider_pings_pinged_at ON provider_pings (pinged_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE INDEX ix_provider_health_slots_claimed_at ON provider_health_slots (claimed_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE INDEX ix_breaker_events_provider_model_at ON breaker_events (provider, model, at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE INDEX ix_breaker_events_at ON breaker_events (at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE UNIQUE INDEX ux_provider_alerts_open ON provider_alerts (rule, provider, model) WHERE resolved_at IS NULL;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    CREATE INDEX ix_provider_alerts_raised_at ON provider_alerts (raised_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121010000_ProviderHealth') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261121010000_ProviderHealth', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    ALTER TABLE requests ADD result jsonb;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE TABLE dead_letters (
        id uuid NOT NULL,
        request_id uuid,
        source character varying(16) NOT NULL,
        status character varying(16) NOT NULL,
        reason character varying(64) NOT NULL,
        error_class character varying(32),
        provider character varying(128),
        chain character varying(128),
        exception_type character varying(256),
        group_key character varying(16) NOT NULL,
        error text,
        stack_trace text,
        message jsonb,
        body text,
        content_type character varying(128),
        headers jsonb,
        faulted_at timestamp with time zone,
        first_parked_at timestamp with time zone NOT NULL,
        last_parked_at timestamp with time zone NOT NULL,
        park_count integer NOT NULL,
        resolved_at timestamp with time zone,
        resolved_by character varying(128),
        operation_id uuid,
        CONSTRAINT "PK_dead_letters" PRIMARY KEY (id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE TABLE dead_letter_operations (
        id uuid NOT NULL,
        kind character varying(16) NOT NULL,
        status character varying(16) NOT NULL,
        requested_by character varying(128) NOT NULL,
        requested_at timestamp with time zone NOT NULL,
        selection jsonb NOT NULL,
        redirect_chain character varying(128),
        total integer NOT NULL,
        done integer NOT NULL,
        skipped integer NOT NULL,
        started_at timestamp with time zone,
        finished_at timestamp with time zone,
        CONSTRAINT "PK_dead_letter_operations" PRIMARY KEY (id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE TABLE dead_letter_operation_items (
        operation_id uuid NOT NULL,
        dead_letter_id uuid NOT NULL,
        position integer NOT NULL,
        state character varying(16) NOT NULL,
        done_at timestamp with time zone,
        note text,
        CONSTRAINT "PK_dead_letter_operation_items" PRIMARY KEY (operation_id, dead_letter_id),
        CONSTRAINT fk_dead_letter_operation_items_dead_letter_id FOREIGN KEY (dead_letter_id) REFERENCES dead_letters (id) ON DELETE CASCADE,
        CONSTRAINT fk_dead_letter_operation_items_operation_id FOREIGN KEY (operation_id) REFERENCES dead_letter_operations (id) ON DELETE CASCADE
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE INDEX ix_dead_letter_operation_items_dead_letter_id ON dead_letter_operation_items (dead_letter_id);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE INDEX ix_dead_letter_operation_items_operation_state_position ON dead_letter_operation_items (operation_id, state, position);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE INDEX ix_dead_letter_operations_status_requested_at ON dead_letter_operations (status, requested_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE INDEX ix_dead_letters_group_key_status ON dead_letters (group_key, status);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE INDEX ix_dead_letters_request_id ON dead_letters (request_id);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    CREATE INDEX ix_dead_letters_status_last_parked_at ON dead_letters (status, last_parked_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121020000_DeadLetters') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261121020000_DeadLetters', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121030000_DeliveryGuarantees') THEN
    ALTER TABLE requests ADD payload_hash character varying(64);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121030000_DeliveryGuarantees') THEN
    ALTER TABLE requests ADD claimed_by character varying(128);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121030000_DeliveryGuarantees') THEN
    ALTER TABLE requests ADD claim_token uuid;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121030000_DeliveryGuarantees') THEN
    ALTER TABLE requests ADD lease_until timestamp with time zone;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121030000_DeliveryGuarantees') THEN
    CREATE TABLE deferred_requests (
        request_id uuid NOT NULL,
        state character varying(16) NOT NULL,
        kind character varying(16) NOT NULL,
        resume_at timestamp with time zone NOT NULL,
        step_index integer NOT NULL,
        attempt integer NOT NULL,
        calls integer NOT NULL,
        deferral_started_at timestamp with time zone,
        deferred_at timestamp with time zone NOT NULL,
        defer_count integer NOT NULL,
        reason text,
        message jsonb NOT NULL,
        released_at timestamp with time zone,
        CONSTRAINT "PK_deferred_requests" PRIMARY KEY (request_id),
        CONSTRAINT fk_deferred_requests_request_id FOREIGN KEY (request_id) REFERENCES requests (request_id) ON DELETE CASCADE
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121030000_DeliveryGuarantees') THEN
    CREATE INDEX ix_deferred_requests_state_resume_at ON deferred_requests (state, resume_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261121030000_DeliveryGuarantees') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261121030000_DeliveryGuarantees', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130190217_Routing') THEN
    ALTER TABLE requests ADD route jsonb;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130190217_Routing') THEN
    ALTER TABLE requests ADD tenant character varying(128);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130190217_Routing') THEN
    ALTER TABLE deferred_requests ADD cost_usd numeric(18,8) NOT NULL DEFAULT 0.0;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130190217_Routing') THEN
    ALTER TABLE deferred_requests ADD route jsonb;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130190217_Routing') THEN
    CREATE TABLE tenant_spend (
        tenant character varying(128) NOT NULL,
        day date NOT NULL,
        spent_usd numeric(18,8) NOT NULL,
        updated_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_tenant_spend" PRIMARY KEY (tenant, day)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130190217_Routing') THEN
    CREATE TABLE worker_instances (
        instance character varying(128) NOT NULL,
        started_at timestamp with time zone NOT NULL,
        seen_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_worker_instances" PRIMARY KEY (instance)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130190217_Routing') THEN
    CREATE INDEX ix_worker_instances_seen_at ON worker_instances (seen_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130190217_Routing') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261130190217_Routing', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130221524_ResponseCache') THEN
    CREATE TABLE response_cache (
        key character varying(64) NOT NULL,
        chain character varying(128) NOT NULL,
        text text NOT NULL,
        provider character varying(128) NOT NULL,
        model character varying(128) NOT NULL,
        input_tokens integer,
        output_tokens integer,
        created_at timestamp with time zone NOT NULL,
        expires_at timestamp with time zone NOT NULL,
        stale_until timestamp with time zone NOT NULL,
        CONSTRAINT "PK_response_cache" PRIMARY KEY (key)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130221524_ResponseCache') THEN
    CREATE INDEX ix_response_cache_created_at ON response_cache (created_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130221524_ResponseCache') THEN
    CREATE INDEX ix_response_cache_stale_until ON response_cache (stale_until);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261130221524_ResponseCache') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261130221524_ResponseCache', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261201060007_RequestTraceParent') THEN
    ALTER TABLE requests ADD trace_parent character varying(64);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261201060007_RequestTraceParent') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261201060007_RequestTraceParent', '10.0.15');
    END IF;
END $EF$;
COMMIT;
