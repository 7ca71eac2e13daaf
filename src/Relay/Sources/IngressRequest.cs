using Microsoft.AspNetCore.Routing;

namespace Relay.Sources;

/// <summary>A webhook request whose body has been read in full, as a source kind sees it.</summary>
internal sealed record IngressRequest(
    string Method,
    string? ContentType,
    string QueryString,
    IHeaderDictionary Headers,
    byte[] Body,
    RouteValueDictionary RouteValues,
    System.Net.IPAddress? RemoteIp,
    DateTimeOffset ReceivedAt);
