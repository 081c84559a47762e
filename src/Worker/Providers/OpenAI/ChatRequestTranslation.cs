using System.Text.Json;
using Worker.Contracts;

namespace Worker.Providers.OpenAI;

/// <summary>
/// Turns the contract's messages, tools, tool choice and response format into Chat Completions' wire form, applying
/// a server's <see cref="OpenAICompatQuirks"/>. Pure functions of their input, so every retry sends the same body.
/// </summary>
internal static class ChatRequestTranslation
{
    /// <summary>
    /// Added when JSON mode is asked for and no message says "JSON": OpenAI refuses such a request with a 400
    /// ("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'", as
    /// reported at https://errornotes.dev/en/errors/ai-tools/fixing-openai-400-why-json-mode-requires-the-word-json-in-your-prompt),
    /// and its API reference for response_format says the model must be told to produce JSON or it may emit whitespace
    /// until the token limit (https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format).
    /// Mistral's reference says the same (https://docs.rs/mistral-openapi-client/latest/mistral_openapi_client/models/response_format/index.html).
    /// </summary>
    internal const string JsonInstruction = "Respond with a single JSON value.";

    // A tool without declared arguments still needs a schema: OpenAI accepts none, but not every compatible server does.
    private static readonly JsonElement NoArguments = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();

    /// <summary>Whether <paramref name="role"/> is one Chat Completions takes from a producer.</summary>
    public static bool IsKnownRole(string role) =>
        string.Equals(role, ChatRoles.System, StringComparison.OrdinalIgnoreCase)
        || string.Equals(role, ChatRoles.User, StringComparison.OrdinalIgnoreCase)
        || string.Equals(role, ChatRoles.Assistant, StringComparison.OrdinalIgnoreCase)
        || string.Equals(role, ChatRoles.Tool, StringComparison.OrdinalIgnoreCase);

    /// <summary>The messages on the wire; every role must be known (<see cref="IsKnownRole"/>).</summary>
    public static List<ChatRequestMessage> Messages(ProviderRequest request, OpenAICompatQuirks quirks)
    {
        Func<string, string> id = quirks.NineCharToolCallIds ? NineCharToolCallIds.Map : static i => i;
        var messages = new List<ChatRequestMessage>(request.Messages.Count + 1);
        foreach (var message in request.Messages)
        {
            var role = message.Role.ToLowerInvariant();
            messages.Add(message switch
            {
                { ToolCalls: [_, ..] calls } when role == ChatRoles.Assistant => new ChatRequestMessage
                {
                    Role = role,
                    Content = string.IsNullOrEmpty(message.Content) ? null : message.Content,
                    ToolCalls = calls.Select(call => new ChatRequestToolCall
                    {
                        Id = id(call.Id),
                        Function = new ChatRequestFunctionCall { Name = call.Name, Arguments = ArgumentsText(call.Arguments) },
                    }).ToList(),
                },
                _ when role == ChatRoles.Tool => new ChatRequestMessage
                {
                    Role = role,
                    Content = message.Content ?? "",
                    ToolCallId = message.ToolCallId is { } answered ? id(answered) : null,
                },
                _ => new ChatRequestMessage { Role = role, Content = message.Content ?? "" },
            });
        }

        if (request.ResponseFormat?.Type == ResponseFormatTypes.Json && !messages.Any(m => m.Content?.Contains("json", StringComparison.OrdinalIgnoreCase) == true))
        {
            AskForJson(messages);
        }

        return messages;
    }

    /// <summary>The tools on the wire; null when there are none, or when the choice is none and the server ignores it.</summary>
    public static List<ChatTool>? Tools(ProviderRequest request, OpenAICompatQuirks quirks)
    {
        if (request.Tools is not [_, ..] tools || (quirks.IgnoresToolChoice && request.ToolChoice?.Mode == ToolChoiceModes.None))
        {
            return null;
        }

        return tools.Select(tool => new ChatTool
        {
            Function = new ChatFunction { Name = tool.Name, Description = tool.Description, Parameters = tool.Parameters ?? NoArguments },
        }).ToList();
    }

    /// <summary>The tool choice on the wire; null leaves it to the server (auto when tools are sent).</summary>
    public static ChatToolChoice? ToolChoice(ProviderRequest request, OpenAICompatQuirks quirks) =>
        request.ToolChoice is not { } choice || request.Tools is not [_, ..] || quirks.IgnoresToolChoice
            ? null
            : choice.Mode == ToolChoiceModes.Tool
                ? new ChatToolChoice(null, choice.Name)
                : new ChatToolChoice(choice.Mode, null);

    /// <summary>
    /// Why the server cannot take <paramref name="request"/>, or null: a server that ignores tool_choice cannot be made
    /// to call a tool, and answering as if it had been would pass off a free choice as a forced one.
    /// </summary>
    public static string? CannotServe(ProviderRequest request, OpenAICompatQuirks quirks, string provider) =>
        quirks.IgnoresToolChoice && request.Tools is [_, ..] && request.ToolChoice?.Mode is ToolChoiceModes.Required or ToolChoiceModes.Tool
            ? $"{provider} ignores tool_choice, so toolChoice '{(request.ToolChoice.Mode == ToolChoiceModes.Tool ? request.ToolChoice.Name : request.ToolChoice.Mode)}' cannot be enforced"
            : null;

    /// <summary>The response format on the wire; null for free text.</summary>
    public static ChatResponseFormat? ResponseFormat(ProviderRequest request) => request.ResponseFormat switch
    {
        { Type: ResponseFormatTypes.Json } => new ChatResponseFormat { Type = "json_object" },
        { Type: ResponseFormatTypes.JsonSchema } format => new ChatResponseFormat
        {
            Type = "json_schema",
            JsonSchema = new ChatJsonSchema { Name = format.Name ?? "response", Schema = format.Schema, Strict = format.Strict },
        },
        _ => null,
    };

    private static string ArgumentsText(JsonElement arguments) =>
        arguments.ValueKind == JsonValueKind.Undefined ? "{}" : arguments.GetRawText();

    /// <summary>
    /// Says "JSON" in the leading system message, or in a new first one, so the conversation keeps the common shape of
    /// at most one system message, first (open models' chat templates are written for that shape).
    /// </summary>
    private static void AskForJson(List<ChatRequestMessage> messages)
    {
        if (messages is [{ Role: ChatRoles.System } first, ..])
        {
            messages[0] = new ChatRequestMessage { Role = ChatRoles.System, Content = $"{first.Content}\n\n{JsonInstruction}" };
        }
        else
        {
            messages.Insert(0, new ChatRequestMessage { Role = ChatRoles.System, Content = JsonInstruction });
        }
    }
}
