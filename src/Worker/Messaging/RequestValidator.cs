using Worker.Chain;
using Worker.Contracts;
using Worker.Requests;

namespace Worker.Messaging;

/// <summary>
/// Checks a request before any provider is paid for it. Each message names the field in its wire (camelCase)
/// form, so a producer in any language can find the problem.
/// </summary>
public static class RequestValidator
{
    private static readonly HashSet<string> Roles = [ChatRoles.System, ChatRoles.User, ChatRoles.Assistant, ChatRoles.Tool];

    /// <returns>null when the request is valid, else the first problem found.</returns>
    public static string? Validate(CompletionRequested request, ChainCatalog chains, RequestLimits limits)
    {
        if (request.RequestId == Guid.Empty)
        {
            return "requestId is missing or empty";
        }

        if (request.ConversationId is { Length: var idChars } && idChars > limits.MaxConversationIdChars)
        {
            return $"conversationId has {idChars} characters; the limit is {limits.MaxConversationIdChars}";
        }

        // Deserialized messages can carry nulls the contract does not allow; check rather than trust.
        if (request.Messages is null || request.Messages.Count == 0)
        {
            return "messages must contain at least one message";
        }

        if (request.Messages.Count > limits.MaxMessages)
        {
            return $"messages has {request.Messages.Count} entries; the limit is {limits.MaxMessages}";
        }

        long promptChars = 0;
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            if (message is null)
            {
                return $"messages[{i}] is null";
            }

            if (message.Role is null || !Roles.Contains(message.Role))
            {
                return $"messages[{i}].role '{message.Role}' is not one of system, user, assistant, tool";
            }

            // An assistant turn that only called tools has no text; a tool's result may be empty, but must be there.
            if (message.Role == ChatRoles.Tool ? message.Content is null
                : string.IsNullOrWhiteSpace(message.Content) && !(message.Role == ChatRoles.Assistant && message.ToolCalls is { Count: > 0 }))
            {
                return $"messages[{i}].content is empty";
            }

            promptChars += message.Content?.Length ?? 0;
        }

        if (promptChars > limits.MaxPromptChars)
        {
            return $"messages total {promptChars} characters; the limit is {limits.MaxPromptChars}";
        }

        if (!request.Messages.Any(m => m.Role == ChatRoles.User))
        {
            return "messages must contain at least one user message";
        }

        if (Structured.StructureRules.Validate(request) is { } structure)
        {
            return structure;
        }

        if (!chains.TryGet(request.Chain, out _))
        {
            return $"chain '{request.Chain}' is not configured; configured chains: {string.Join(", ", chains.Names)}";
        }

        if (request.MaxOutputTokens is { } max && (max < 1 || max > limits.MaxOutputTokens))
        {
            return $"maxOutputTokens {max} is out of range 1..{limits.MaxOutputTokens}";
        }

        if (request.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            return $"temperature {t} is out of range 0..2";
        }

        if (request.Priority is < RequestPriority.Lowest or > RequestPriority.Highest)
        {
            return $"priority {request.Priority} is out of range {RequestPriority.Lowest}..{RequestPriority.Highest}";
        }

        if (request.Metadata is { } metadata)
        {
            if (metadata.Count > limits.MaxMetadataEntries)
            {
                return $"metadata has {metadata.Count} entries; the limit is {limits.MaxMetadataEntries}";
            }

            var metadataChars = metadata.Sum(kv => (long)kv.Key.Length + (kv.Value?.Length ?? 0));
            if (metadataChars > limits.MaxMetadataChars)
            {
                return $"metadata totals {metadataChars} characters; the limit is {limits.MaxMetadataChars}";
            }
        }

        if (request.Cache?.MaxAgeSeconds is { } maxAge && (maxAge < 0 || maxAge > MaxCacheAgeSeconds))
        {
            return $"cache.maxAgeSeconds {maxAge} is out of range 0..{MaxCacheAgeSeconds}";
        }

        return null;
    }

    /// <summary>The largest <c>cache.maxAgeSeconds</c> accepted: a year, far above any configured TTL.</summary>
    public const int MaxCacheAgeSeconds = 365 * 24 * 3600;
}
