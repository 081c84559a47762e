using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

/// <summary>Table <c>response_cache</c>: the opt-in response cache (LastResort), one row per key.</summary>
internal sealed class ResponseCacheConfiguration : IEntityTypeConfiguration<ResponseCacheRow>
{
    public void Configure(EntityTypeBuilder<ResponseCacheRow> e)
    {
        e.ToTable("response_cache");
        e.HasKey(c => c.Key).HasName("PK_response_cache");
        e.Property(c => c.Key).HasMaxLength(64);
        e.Property(c => c.Chain).HasMaxLength(128);
        e.Property(c => c.Provider).HasMaxLength(128);
        e.Property(c => c.Model).HasMaxLength(128);
        // What retention scans: entries past their stale limit, and the oldest ones when the table is over its bound.
        e.HasIndex(c => c.StaleUntil);
        e.HasIndex(c => c.CreatedAt);
    }
}
