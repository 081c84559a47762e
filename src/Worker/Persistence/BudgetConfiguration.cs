using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>tenant_spend</c>: one row per tenant and day.</summary>
internal sealed class TenantSpendConfiguration : IEntityTypeConfiguration<TenantSpendRow>
{
    public void Configure(EntityTypeBuilder<TenantSpendRow> e)
    {
        e.ToTable("tenant_spend");
        e.HasKey(t => new { t.Tenant, t.Day }).HasName("PK_tenant_spend");
        e.Property(t => t.Tenant).HasMaxLength(128);
        e.Property(t => t.SpentUsd).HasPrecision(18, 8);
    }
}

/// <summary>Table <c>worker_instances</c>: the live instances, each renewing its own row.</summary>
internal sealed class WorkerInstanceConfiguration : IEntityTypeConfiguration<WorkerInstanceRow>
{
    public void Configure(EntityTypeBuilder<WorkerInstanceRow> e)
    {
        e.ToTable("worker_instances");
        e.HasKey(i => i.Instance).HasName("PK_worker_instances");
        e.Property(i => i.Instance).HasMaxLength(128);
        e.HasIndex(i => i.SeenAt);
    }
}
