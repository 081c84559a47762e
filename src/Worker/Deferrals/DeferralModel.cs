using Microsoft.EntityFrameworkCore;
using Worker.Audit;

namespace Worker.Deferrals;

/// <summary>The deferred_requests table in <see cref="AuditDbContext"/>'s model (migration 20261121030000_DeliveryGuarantees).</summary>
internal static class DeferralModel
{
    public static void Build(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<DeferredRequestRow>(e =>
        {
            e.ToTable("deferred_requests");
            e.HasKey(d => d.RequestId);
            e.Property(d => d.RequestId).HasColumnName("request_id");
            e.Property(d => d.State).HasColumnName("state").HasMaxLength(16);
            e.Property(d => d.Kind).HasColumnName("kind").HasMaxLength(16);
            e.Property(d => d.ResumeAt).HasColumnName("resume_at");
            e.Property(d => d.StepIndex).HasColumnName("step_index");
            e.Property(d => d.Attempt).HasColumnName("attempt");
            e.Property(d => d.Calls).HasColumnName("calls");
            e.Property(d => d.DeferralStartedAt).HasColumnName("deferral_started_at");
            e.Property(d => d.DeferredAt).HasColumnName("deferred_at");
            e.Property(d => d.DeferCount).HasColumnName("defer_count");
            e.Property(d => d.Reason).HasColumnName("reason");
            e.Property(d => d.Message).HasColumnName("message").HasColumnType("jsonb");
            e.Property(d => d.ReleasedAt).HasColumnName("released_at");
            // Deleted with its request (retention, or a test clearing rows): a deferral never outlives what it defers.
            e.HasOne<RequestRow>().WithOne().HasForeignKey<DeferredRequestRow>(d => d.RequestId).OnDelete(DeleteBehavior.Cascade)
                .HasConstraintName("fk_deferred_requests_request_id");
            // What the release job scans: due waiting rows, oldest first.
            e.HasIndex(d => new { d.State, d.ResumeAt }).HasDatabaseName("ix_deferred_requests_state_resume_at");
        });
    }
}
