using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Contracts;

namespace Worker.Providers.Gemini;

/// <summary>The generateContent body for a request, or why none can be built (the request is wrong for Gemini).</summary>
internal sealed record GeminiRequestBuild(GenerateContentRequest? Body, string? Error);

/// <summary>
/// Translates the contract's request (messages, tools, tool choice, response format) to the generateContent body.
/// </summary>
internal static class GeminiRequestBuilder
{
    /// <summary>
    /// What a replayed function call carries instead of the thought signature the contract cannot keep. Gemini 3 answers
    /// 400 when the first functionCall of a step has none; Google documents this value for history the model did not
    /// produce (another model's turns), and it is also what a Gemini turn replayed through our contract has become.
    /// </summary>
    internal const string ForeignThoughtSignature = "skip_thought_signature_validator";

    private static readonly JsonElement NoArguments = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>The instruction that stands in for the JSON mode Gemini refuses beside tools.</summary>
    internal const string JsonInstruction = "When you answer rather than call a function, answer with JSON only.";

    /// <summary>
    /// The request as Gemini can take it. Gemini 2.x answers 400 "Function calling with a response mime type:
    /// 'application/json' is unsupported" (https://github.com/googleapis/python-genai/issues/867), so a request with tools
    /// and a JSON format is reshaped: with a schema and the model free to choose, the answer becomes one more function
    /// (<see cref="AnswerTool"/>, named in the result) that the model must call if it calls no other; with tools forced, or
    /// JSON without a schema, the JSON mode gives way to an instruction; with tools switched off, the tools go. The chain
    /// checks the answer against the request's own format either way.
    /// </summary>
    internal static (ProviderRequest Request, string? AnswerTool) Adapt(ProviderRequest request)
    {
        if (request.Tools is not { Count: > 0 } || request.ResponseFormat?.Type is not (ResponseFormatTypes.Json or ResponseFormatTypes.JsonSchema))
            return (request, null);
        if (request.ToolChoice?.Mode == ToolChoiceModes.None)
            return (request with { Tools = null, ToolChoice = null }, null);
        if (AnswerTool.BesideTools(request))
        {
            var name = AnswerTool.NameIn(request);
            return (request with
            {
                Tools = [.. request.Tools, AnswerTool.For(request.ResponseFormat!, name)],
                ToolChoice = ToolChoice.Required,
                ResponseFormat = null,
            }, name);
        }

        return (request with { ResponseFormat = null, Messages = [new ChatMessage(ChatRoles.System, JsonInstruction), .. request.Messages] }, null);
    }

    /// <summary>Why Gemini's schema dialect cannot express a tool's parameters or the response schema; null when it can.</summary>
    public static string? CannotServe(ProviderRequest request)
    {
        var (_, toolError) = Tools(request.Tools);
        return toolError ?? ResponseConfig(request.ResponseFormat).Error;
    }

    public static GeminiRequestBuild Build(ProviderRequest request)
    {
        var (tools, toolError) = Tools(request.Tools);
        if (toolError is not null)
            return new(null, toolError);

        var (mimeType, responseSchema, formatError) = ResponseConfig(request.ResponseFormat);
        if (formatError is not null)
            return new(null, formatError);

        var (toolConfig, choiceError) = ToolConfigFor(request.ToolChoice, tools);
        if (choiceError is not null)
            return new(null, choiceError);

        var (contents, system, messageError) = Contents(request.Messages);
        if (messageError is not null)
            return new(null, messageError);

        var anyConfig = request.MaxOutputTokens is not null || request.Temperature is not null || mimeType is not null;
        return new(new GenerateContentRequest
        {
            Contents = contents!,
            SystemInstruction = system is null ? null : new Content { Parts = system },
            GenerationConfig = anyConfig
                ? new GenerationConfig
                {
                    MaxOutputTokens = request.MaxOutputTokens,
                    Temperature = request.Temperature,
                    ResponseMimeType = mimeType,
                    ResponseSchema = responseSchema,
                }
                : null,
            Tools = tools,
            ToolConfig = toolConfig,
        }, null);
    }

    private static (List<Tool>? Tools, string? Error) Tools(IReadOnlyList<ToolDefinition>? definitions)
    {
        if (definitions is not { Count: > 0 })
            return (null, null);

        var declarations = new List<FunctionDeclaration>(definitions.Count);
        foreach (var definition in definitions)
        {
            JsonObject? parameters = null;
            if (definition.Parameters is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } schema)
            {
                var converted = GeminiSchema.ConvertParameters(schema);
                if (converted.Refusal is not null)
                    return (null, $"tool '{definition.Name}' parameters: {converted.Refusal}");
                parameters = converted.Schema;
            }

            declarations.Add(new FunctionDeclaration { Name = definition.Name, Description = definition.Description, Parameters = parameters });
        }

        return ([new Tool { FunctionDeclarations = declarations }], null);
    }

    private static (string? MimeType, JsonObject? Schema, string? Error) ResponseConfig(ResponseFormat? format)
    {
        switch (format?.Type)
        {
            case null or ResponseFormatTypes.Text:
                return (null, null, null);
            case ResponseFormatTypes.Json:
                return ("application/json", null, null);
            case ResponseFormatTypes.JsonSchema when format.Schema is { } schema:
                var converted = GeminiSchema.Convert(schema);
                return converted.Refusal is null
                    ? ("application/json", converted.Schema, null)
                    : (null, null, $"response schema: {converted.Refusal}");
            case ResponseFormatTypes.JsonSchema:
                return (null, null, "response format json_schema without a schema");
            default:
                return (null, null, $"response format type '{format.Type}' is not one of text, json, json_schema");
        }
    }

    private static (ToolConfig? Config, string? Error) ToolConfigFor(ToolChoice? choice, List<Tool>? tools)
    {
        // Without tools there is nothing to choose; Gemini's default is AUTO.
        if (choice is null || tools is null)
            return (null, null);

        var mode = choice.Mode switch
        {
            ToolChoiceModes.Auto => "AUTO",
            ToolChoiceModes.None => "NONE",
            ToolChoiceModes.Required or ToolChoiceModes.Tool => "ANY",
            _ => null,
        };
        if (mode is null)
            return (null, $"tool choice '{choice.Mode}' is not one of auto, none, required or a tool's name");

        var allowed = choice.Mode == ToolChoiceModes.Tool && choice.Name is { } name ? new List<string> { name } : null;
        return (new ToolConfig { FunctionCallingConfig = new FunctionCallingConfig { Mode = mode, AllowedFunctionNames = allowed } }, null);
    }

    /// <summary>
    /// The conversation as Gemini contents: assistant tool calls become functionCall parts of a model turn, and tool
    /// results the functionResponse parts of one user turn (Gemini wants a step's responses together), named after the
    /// call they answer since Gemini matches responses by name.
    /// </summary>
    private static (List<Content>? Contents, List<Part>? System, string? Error) Contents(IReadOnlyList<ChatMessage> messages)
    {
        var contents = new List<Content>(messages.Count);
        List<Part>? system = null;
        List<Part>? responses = null;
        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach (var message in messages)
        {
            if (!Is(message, ChatRoles.Tool) && responses is not null)
            {
                contents.Add(new Content { Role = "user", Parts = responses });
                responses = null;
            }

            if (Is(message, ChatRoles.System))
            {
                (system ??= []).Add(new Part { Text = message.Content });
            }
            else if (Is(message, ChatRoles.User))
            {
                contents.Add(new Content { Role = "user", Parts = [new Part { Text = message.Content }] });
            }
            else if (Is(message, ChatRoles.Assistant))
            {
                var (parts, error) = ModelParts(message, callNames);
                if (error is not null)
                    return (null, null, error);
                contents.Add(new Content { Role = "model", Parts = parts });
            }
            else if (Is(message, ChatRoles.Tool))
            {
                if (message.ToolCallId is not { } id || !callNames.TryGetValue(id, out var name))
                    return (null, null, $"tool message answers tool call id '{message.ToolCallId}', which no earlier assistant message made");
                (responses ??= []).Add(new Part { FunctionResponse = new FunctionResponse { Id = id, Name = name, Response = ResponseOf(message.Content) } });
            }
            else
            {
                return (null, null, $"message role '{message.Role}' is not one of system, user, assistant, tool");
            }
        }

        if (responses is not null)
            contents.Add(new Content { Role = "user", Parts = responses });
        return (contents, system, null);
    }

    private static (List<Part> Parts, string? Error) ModelParts(ChatMessage message, Dictionary<string, string> callNames)
    {
        if (message.ToolCalls is not { Count: > 0 } calls)
            return ([new Part { Text = message.Content }], null);

        var parts = new List<Part>(calls.Count + 1);
        if (!string.IsNullOrEmpty(message.Content))
            parts.Add(new Part { Text = message.Content });

        foreach (var call in calls)
        {
            if (call.Arguments.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined))
                return ([], $"tool call '{call.Id}' has arguments that are not a JSON object");

            callNames[call.Id] = call.Name;
            parts.Add(new Part
            {
                FunctionCall = new FunctionCall
                {
                    Id = call.Id,
                    Name = call.Name,
                    Args = call.Arguments.ValueKind == JsonValueKind.Object ? call.Arguments : NoArguments,
                },
                // Only the first function call of a step carries a signature (parallel calls share it).
                ThoughtSignature = parts.Exists(p => p.FunctionCall is not null) ? null : ForeignThoughtSignature,
            });
        }

        return (parts, null);
    }

    /// <summary>
    /// A tool's result as Gemini's response object: a JSON object as it is, anything else wrapped as
    /// <c>{"content": value}</c> (the parsed JSON value when it parses, else the text).
    /// </summary>
    private static JsonObject ResponseOf(string? content)
    {
        JsonNode? value;
        try
        {
            value = JsonNode.Parse(content ?? "");
        }
        catch (JsonException)
        {
            value = JsonValue.Create(content ?? "");
        }

        return value as JsonObject ?? new JsonObject { ["content"] = value };
    }

    private static bool Is(ChatMessage message, string role) =>
        string.Equals(message.Role, role, StringComparison.OrdinalIgnoreCase);
}
