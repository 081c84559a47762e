using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>requests</c> (named by <see cref="AuditDbContext.Requests"/>): one row per request id.</summary>
internal sealed class RequestConfiguration : IEntityTypeConfiguration<RequestRow>
{
    public void Configure(EntityTypeBuilder<RequestRow> e)
    {
        e.HasKey(r => r.RequestId).HasName("PK_requests");
        e.Property(r => r.ConversationId).HasMaxLength(256);
        e.Property(r => r.Chain).HasMaxLength(128);
        e.Property(r => r.Status).HasMaxLength(32);
        e.Property(r => r.Provider).HasMaxLength(128);
        e.Property(r => r.Model).HasMaxLength(128);
        e.Property(r => r.EstimatedCostUsd).HasPrecision(18, 8);
        e.Property(r => r.FailureReason).HasMaxLength(64);
        e.Property(r => r.Tenant).HasMaxLength(128);
        e.Property(r => r.Route).HasColumnType("jsonb");
        // Npgsql would map a Dictionary<string, string> to hstore; stored as a jsonb object instead.
        e.Property(r => r.Metadata).HasColumnType("jsonb").HasConversion(MetadataJson.Converter, MetadataJson.Comparer);
        e.Property(r => r.PromptHash).HasMaxLength(64);
        e.Property(r => r.ResponseHash).HasMaxLength(64);
        // The CompletionSucceeded/CompletionFailed as published: a redelivery or replay of a finished request re-publishes it.
        e.Property(r => r.Result).HasColumnType("jsonb");
        e.Property(r => r.PayloadHash).HasMaxLength(64);
        e.Property(r => r.ClaimedBy).HasMaxLength(128);
        // 00-{32 hex}-{16 hex}-{2 hex}: 55 characters.
        e.Property(r => r.TraceParent).HasMaxLength(64);
        e.HasMany(r => r.Attempts).WithOne().HasForeignKey(a => a.RequestId).OnDelete(DeleteBehavior.Cascade)
            .HasConstraintName("FK_attempts_requests_request_id");
        e.HasIndex(r => r.ReceivedAt);
        e.HasIndex(r => new { r.Status, r.ReceivedAt });
    }
}
