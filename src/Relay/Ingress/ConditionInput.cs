using System.Text;
using System.Text.Unicode;
using Microsoft.Extensions.Primitives;
using Relay.Conditions;
using Relay.Sources;

namespace Relay.Ingress;

/// <summary>
/// One event's data as its routes' <c>when</c> conditions read it, built on the first condition that needs it and
/// shared by the rest. <c>body</c> is: the kind's JSON for the event when it gives one (<see cref="IncomingEvent.Content"/>),
/// else the parsed JSON of a JSON body, the fields of a form body, the query string's fields of a GET without a body,
/// and otherwise the body as text.
/// </summary>
internal sealed class ConditionInput(string source, IncomingEvent incoming, EventOrigin origin)
{
    private ConditionVariables? _variables;

    public ConditionVariables Variables =>
        _variables ??= new(incoming.Type, source, incoming.Tags, () => ConditionValues.FromHeaders(origin.Headers), ReadBody);

    private ConditionBody ReadBody(CostMeter meter)
    {
        if (incoming.Content is { } json)
        {
            return ConditionValues.FromJson(json, meter);
        }

        var body = incoming.Body ?? origin.Body;
        if (JsonBody.IsJson(origin.ContentType))
        {
            return ConditionValues.FromJson(body, meter);
        }

        if (FormBody.IsForm(origin.ContentType))
        {
            return Fields(FormBody.TryParse(body, out var fields, out var problem), fields, problem);
        }

        if (body.Length == 0 && HttpMethods.IsGet(origin.Method))
        {
            // AlphaTrust sends the same callback as a GET with the fields in the query string.
            return Fields(FormBody.TryParse(origin.QueryString, out var fields, out var problem), fields, problem);
        }

        return Utf8.IsValid(body) ? ConditionBody.Of(Encoding.UTF8.GetString(body)) : ConditionBody.Unreadable("body is not UTF-8 text");
    }

    private static ConditionBody Fields(bool parsed, Dictionary<string, StringValues> fields, string problem) =>
        parsed ? ConditionBody.Of(ConditionValues.FromFields(fields)) : ConditionBody.Unreadable(problem);
}
