using Microsoft.EntityFrameworkCore;

namespace Worker.DeadLetters;

/// <summary>The dead-letter tables in <see cref="Audit.AuditDbContext"/>'s model (migration 20261121020000_DeadLetters).</summary>
internal static class DeadLetterModel
{
    public static void Build(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<DeadLetterRow>(e =>
        {
            e.ToTable("dead_letters");
            e.HasKey(d => d.Id);
            e.Property(d => d.Id).HasColumnName("id");
            e.Property(d => d.RequestId).HasColumnName("request_id");
            e.Property(d => d.Source).HasColumnName("source").HasMaxLength(16);
            e.Property(d => d.Status).HasColumnName("status").HasMaxLength(16);
            e.Property(d => d.Reason).HasColumnName("reason").HasMaxLength(64);
            e.Property(d => d.ErrorClass).HasColumnName("error_class").HasMaxLength(32);
            e.Property(d => d.Provider).HasColumnName("provider").HasMaxLength(128);
            e.Property(d => d.Chain).HasColumnName("chain").HasMaxLength(128);
            e.Property(d => d.ExceptionType).HasColumnName("exception_type").HasMaxLength(256);
            e.Property(d => d.GroupKey).HasColumnName("group_key").HasMaxLength(16);
            e.Property(d => d.Error).HasColumnName("error");
            e.Property(d => d.StackTrace).HasColumnName("stack_trace");
            e.Property(d => d.Message).HasColumnName("message").HasColumnType("jsonb");
            e.Property(d => d.Body).HasColumnName("body");
            e.Property(d => d.ContentType).HasColumnName("content_type").HasMaxLength(128);
            e.Property(d => d.Headers).HasColumnName("headers").HasColumnType("jsonb");
            e.Property(d => d.FaultedAt).HasColumnName("faulted_at");
            e.Property(d => d.FirstParkedAt).HasColumnName("first_parked_at");
            e.Property(d => d.LastParkedAt).HasColumnName("last_parked_at");
            e.Property(d => d.ParkCount).HasColumnName("park_count");
            e.Property(d => d.ResolvedAt).HasColumnName("resolved_at");
            e.Property(d => d.ResolvedBy).HasColumnName("resolved_by").HasMaxLength(128);
            e.Property(d => d.OperationId).HasColumnName("operation_id");
            e.HasIndex(d => new { d.Status, d.LastParkedAt }).HasDatabaseName("ix_dead_letters_status_last_parked_at");
            e.HasIndex(d => new { d.GroupKey, d.Status }).HasDatabaseName("ix_dead_letters_group_key_status");
            e.HasIndex(d => d.RequestId).HasDatabaseName("ix_dead_letters_request_id");
        });

        modelBuilder.Entity<DeadLetterOperationRow>(e =>
        {
            e.ToTable("dead_letter_operations");
            e.HasKey(o => o.Id);
            e.Property(o => o.Id).HasColumnName("id");
            e.Property(o => o.Kind).HasColumnName("kind").HasMaxLength(16);
            e.Property(o => o.Status).HasColumnName("status").HasMaxLength(16);
            e.Property(o => o.RequestedBy).HasColumnName("requested_by").HasMaxLength(128);
            e.Property(o => o.RequestedAt).HasColumnName("requested_at");
            e.Property(o => o.Selection).HasColumnName("selection").HasColumnType("jsonb");
            e.Property(o => o.RedirectChain).HasColumnName("redirect_chain").HasMaxLength(128);
            e.Property(o => o.Total).HasColumnName("total");
            e.Property(o => o.Done).HasColumnName("done");
            e.Property(o => o.Skipped).HasColumnName("skipped");
            e.Property(o => o.StartedAt).HasColumnName("started_at");
            e.Property(o => o.FinishedAt).HasColumnName("finished_at");
            e.HasMany(o => o.Items).WithOne().HasForeignKey(i => i.OperationId).OnDelete(DeleteBehavior.Cascade)
                .HasConstraintName("fk_dead_letter_operation_items_operation_id");
            e.HasIndex(o => new { o.Status, o.RequestedAt }).HasDatabaseName("ix_dead_letter_operations_status_requested_at");
        });

        modelBuilder.Entity<DeadLetterOperationItemRow>(e =>
        {
            e.ToTable("dead_letter_operation_items");
            e.HasKey(i => new { i.OperationId, i.DeadLetterId });
            e.Property(i => i.OperationId).HasColumnName("operation_id");
            e.Property(i => i.DeadLetterId).HasColumnName("dead_letter_id");
            e.Property(i => i.Position).HasColumnName("position");
            e.Property(i => i.State).HasColumnName("state").HasMaxLength(16);
            e.Property(i => i.DoneAt).HasColumnName("done_at");
            e.Property(i => i.Note).HasColumnName("note");
            // Retention deletes resolved dead letters; their place in past operations goes with them.
            e.HasOne<DeadLetterRow>().WithMany().HasForeignKey(i => i.DeadLetterId).OnDelete(DeleteBehavior.Cascade)
                .HasConstraintName("fk_dead_letter_operation_items_dead_letter_id");
            e.HasIndex(i => new { i.OperationId, i.State, i.Position }).HasDatabaseName("ix_dead_letter_operation_items_operation_state_position");
            e.HasIndex(i => i.DeadLetterId).HasDatabaseName("ix_dead_letter_operation_items_dead_letter_id");
        });
    }
}
