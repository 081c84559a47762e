using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using Worker.DeadLetters;
using Worker.Deferrals;
using Worker.ProviderHealth;

namespace Worker.Audit;

/// <summary>
/// The audit trail. Migrations live in migrations/Worker.Migrations; apply them with ops/migrate.sh. Names are
/// snake_case so ops can query with plain SQL.
/// <para>
/// Changing the model: EF's design-time package (dotnet ef) cannot be restored here, so write the migration by hand,
/// as <c>migrations/Worker.Migrations/&lt;yyyyMMddHHmmss&gt;_&lt;Name&gt;.cs</c> with <c>[DbContext(typeof(AuditDbContext))]</c>
/// and <c>[Migration("&lt;id&gt;")]</c>; add its id to <see cref="AuditSchema.RequiredMigrations"/>; regenerate the DBA
/// script with <c>ops/migrate.sh script</c>. tests/Worker.Tests/Audit/MigrationTests fails, printing the SQL the
/// model needs, until the migrations build exactly this model.
/// </para>
/// </summary>
public sealed class AuditDbContext(DbContextOptions<AuditDbContext> options) : DbContext(options)
{
    /// <summary>The assembly holding the migrations (migrations/Worker.Migrations).</summary>
    public const string MigrationsAssembly = "Worker.Migrations";

    /// <summary>The options every user of the context shares: the worker, the migrator and the tests.</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder options, NpgsqlDataSource dataSource) =>
        options
            .UseNpgsql(dataSource, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly))
            // Migrations are hand-written and carry no model snapshot, so EF cannot compare them with the model;
            // MigrationTests does that instead.
            .ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning));

    public DbSet<RequestRow> Requests => Set<RequestRow>();

    public DbSet<AttemptRow> Attempts => Set<AttemptRow>();

    public DbSet<DeadLetterRow> DeadLetters => Set<DeadLetterRow>();

    public DbSet<DeadLetterOperationRow> DeadLetterOperations => Set<DeadLetterOperationRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<RequestRow>(e =>
        {
            e.ToTable("requests");
            e.HasKey(r => r.RequestId);
            e.Property(r => r.RequestId).HasColumnName("request_id");
            e.Property(r => r.ConversationId).HasColumnName("conversation_id").HasMaxLength(256);
            e.Property(r => r.Chain).HasColumnName("chain").HasMaxLength(128);
            e.Property(r => r.Status).HasColumnName("status").HasMaxLength(32);
            e.Property(r => r.ReceivedAt).HasColumnName("received_at");
            e.Property(r => r.FirstAttemptAt).HasColumnName("first_attempt_at");
            e.Property(r => r.CompletedAt).HasColumnName("completed_at");
            e.Property(r => r.Provider).HasColumnName("provider").HasMaxLength(128);
            e.Property(r => r.Model).HasColumnName("model").HasMaxLength(128);
            e.Property(r => r.FallbackUsed).HasColumnName("fallback_used");
            e.Property(r => r.AttemptCount).HasColumnName("attempt_count");
            e.Property(r => r.InputTokens).HasColumnName("input_tokens");
            e.Property(r => r.OutputTokens).HasColumnName("output_tokens");
            e.Property(r => r.EstimatedCostUsd).HasColumnName("estimated_cost_usd").HasPrecision(18, 8);
            e.Property(r => r.FailureReason).HasColumnName("failure_reason").HasMaxLength(64);
            e.Property(r => r.Error).HasColumnName("error");
            // Npgsql would map a Dictionary<string, string> to hstore; stored as a jsonb object instead.
            e.Property(r => r.Metadata).HasColumnName("metadata").HasColumnType("jsonb")
                .HasConversion(MetadataJson.Converter, MetadataJson.Comparer);
            e.Property(r => r.ReplayCount).HasColumnName("replay_count");
            e.Property(r => r.PromptHash).HasColumnName("prompt_hash").HasMaxLength(64);
            e.Property(r => r.Prompt).HasColumnName("prompt");
            e.Property(r => r.ResponseHash).HasColumnName("response_hash").HasMaxLength(64);
            e.Property(r => r.Response).HasColumnName("response");
            // The CompletionSucceeded/CompletionFailed as published: a redelivery or replay of a finished request re-publishes it.
            e.Property(r => r.Result).HasColumnName("result").HasColumnType("jsonb");
            e.Property(r => r.PayloadHash).HasColumnName("payload_hash").HasMaxLength(64);
            e.Property(r => r.ClaimedBy).HasColumnName("claimed_by").HasMaxLength(128);
            e.Property(r => r.ClaimToken).HasColumnName("claim_token");
            e.Property(r => r.LeaseUntil).HasColumnName("lease_until");
            e.HasMany(r => r.Attempts).WithOne().HasForeignKey(a => a.RequestId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(r => r.ReceivedAt).HasDatabaseName("ix_requests_received_at");
            e.HasIndex(r => new { r.Status, r.ReceivedAt }).HasDatabaseName("ix_requests_status_received_at");
        });

        modelBuilder.Entity<AttemptRow>(e =>
        {
            e.ToTable("attempts");
            e.HasKey(a => a.Id);
            e.Property(a => a.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(a => a.RequestId).HasColumnName("request_id");
            e.Property(a => a.StepIndex).HasColumnName("step_index");
            e.Property(a => a.Provider).HasColumnName("provider").HasMaxLength(128);
            e.Property(a => a.Model).HasColumnName("model").HasMaxLength(128);
            e.Property(a => a.Attempt).HasColumnName("attempt");
            e.Property(a => a.StartedAt).HasColumnName("started_at");
            e.Property(a => a.EndedAt).HasColumnName("ended_at");
            e.Property(a => a.LatencyMs).HasColumnName("latency_ms");
            e.Property(a => a.CallMade).HasColumnName("call_made");
            e.Property(a => a.Outcome).HasColumnName("outcome").HasMaxLength(16);
            e.Property(a => a.ErrorClass).HasColumnName("error_class").HasMaxLength(32);
            e.Property(a => a.HttpStatus).HasColumnName("http_status");
            e.Property(a => a.RetryAfterMs).HasColumnName("retry_after_ms");
            e.Property(a => a.Decision).HasColumnName("decision").HasMaxLength(16);
            e.Property(a => a.WaitMs).HasColumnName("wait_ms");
            e.Property(a => a.Note).HasColumnName("note");
            e.Property(a => a.Detail).HasColumnName("detail");
            e.Property(a => a.InputTokens).HasColumnName("input_tokens");
            e.Property(a => a.OutputTokens).HasColumnName("output_tokens");
            e.Property(a => a.CostUsd).HasColumnName("cost_usd").HasPrecision(18, 8);
            e.HasIndex(a => new { a.RequestId, a.Id }).HasDatabaseName("ix_attempts_request_id");
            e.HasIndex(a => new { a.Provider, a.Model, a.StartedAt }).HasDatabaseName("ix_attempts_provider_model_started_at");
            e.HasIndex(a => a.StartedAt).HasDatabaseName("ix_attempts_started_at");
        });

        DeadLetterModel.Build(modelBuilder);
        DeferralModel.Build(modelBuilder);
        ProviderHealthModel.Configure(modelBuilder);
    }
}
