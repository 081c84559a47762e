using System.ComponentModel.DataAnnotations;

namespace Worker.Requests;

/// <summary>The <c>Requests</c> section: what the worker accepts. Anything larger fails with <c>invalid_request</c>.</summary>
public sealed class RequestLimits
{
    public const string Section = "Requests";

    /// <summary>Longest <c>conversationId</c>, echoed back on every result; the audit column keeps the first 256.</summary>
    [Range(1, 4_096)]
    public int MaxConversationIdChars { get; set; } = 256;

    /// <summary>Most messages in one request.</summary>
    [Range(1, 100_000)]
    public int MaxMessages { get; set; } = 500;

    /// <summary>Most characters across all message contents (a rough guard before any provider's token limit).</summary>
    [Range(1, 100_000_000)]
    public int MaxPromptChars { get; set; } = 500_000;

    /// <summary>Largest <c>maxOutputTokens</c> accepted.</summary>
    [Range(1, 10_000_000)]
    public int MaxOutputTokens { get; set; } = 65_536;

    /// <summary>Most metadata entries, echoed back on every result.</summary>
    [Range(0, 10_000)]
    public int MaxMetadataEntries { get; set; } = 32;

    /// <summary>Most characters across metadata keys and values.</summary>
    [Range(0, 1_000_000)]
    public int MaxMetadataChars { get; set; } = 8_192;
}
