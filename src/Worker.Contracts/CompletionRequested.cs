namespace Worker.Contracts;

/// <summary>
/// Published by a chat or SDR backend to ask for one completion. The worker answers with exactly one
/// <see cref="CompletionSucceeded"/> or <see cref="CompletionFailed"/> carrying the same <see cref="RequestId"/>.
/// </summary>
/// <param name="RequestId">The producer's idempotency key: the same id is never answered twice.</param>
/// <param name="ConversationId">The producer's correlation (chat, thread or lead id), echoed back.</param>
/// <param name="Messages">The conversation so far, oldest first.</param>
/// <param name="Chain">Named provider chain; null means "default".</param>
/// <param name="MaxOutputTokens">Upper bound on generated tokens; null leaves it to the provider.</param>
/// <param name="Temperature">Sampling temperature (0 to 2); null leaves it to the provider.</param>
/// <param name="Deadline">After this instant no provider is called; the request fails with <c>deadline_exceeded</c>.</param>
/// <param name="Metadata">Free-form string pairs, echoed back on the result.</param>
public sealed record CompletionRequested(
    Guid RequestId,
    string? ConversationId,
    IReadOnlyList<ChatMessage> Messages,
    string? Chain = null,
    int? MaxOutputTokens = null,
    double? Temperature = null,
    DateTimeOffset? Deadline = null,
    IReadOnlyDictionary<string, string>? Metadata = null);

/// <summary>One turn of a conversation.</summary>
/// <param name="Role">One of <c>system</c>, <c>user</c>, <c>assistant</c>.</param>
/// <param name="Content">The text of the turn.</param>
public sealed record ChatMessage(string Role, string Content);

/// <summary>The well-known values of <see cref="ChatMessage.Role"/>.</summary>
public static class ChatRoles
{
    /// <summary>Instructions for the model.</summary>
    public const string System = "system";

    /// <summary>The human (or the backend speaking for one).</summary>
    public const string User = "user";

    /// <summary>An earlier model answer.</summary>
    public const string Assistant = "assistant";
}
