using System.ComponentModel.DataAnnotations;

namespace Worker.Audit;

/// <summary>What the audit trail keeps of a prompt and of a response. Prompts carry PII: the default keeps only a hash.</summary>
public enum PromptStorage
{
    /// <summary>The prompt (as canonical JSON) and the response text, with their hashes.</summary>
    Full,

    /// <summary>Only the SHA-256 of the prompt and of the response: enough to spot repeats, nothing to leak.</summary>
    HashOnly,

    /// <summary>Neither text nor hash.</summary>
    None,
}

/// <summary>The <c>Audit</c> section: what is stored, and how long a write may wait for PostgreSQL.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary><c>Full</c>, <c>HashOnly</c> (default) or <c>None</c> (env Audit__PromptStorage).</summary>
    public PromptStorage PromptStorage { get; set; } = PromptStorage.HashOnly;

    /// <summary>
    /// After how long a failing audit write is reported as a PostgreSQL outage (an error in the log, once per write). The
    /// write itself is never given up while the process lives: the message stays unacknowledged and a paid outcome stays
    /// in memory until it is stored (env Audit__WriteRetryFor).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan WriteRetryFor { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Most requests whose claims, or whose outcomes, share one group commit (env Audit__BatchSize). A batch is whatever
    /// queued up while the previous one was written, so this only caps it under a deep backlog.
    /// </summary>
    [Range(1, 5000)]
    public int BatchSize { get; set; } = 256;

    /// <summary>
    /// Group commits of each kind (claims, outcomes) on the wire at once, each holding one connection while it writes
    /// (env Audit__BatchWriters). Two keep PostgreSQL busy while the next batch fills.
    /// </summary>
    [Range(1, 16)]
    public int BatchWriters { get; set; } = 2;
}
