// The little XML reading S3 responses need: the text of elements by tag name
// (ListObjectsV2 keys and sizes, the UploadId of a multipart upload, the Code
// and Message of an error). S3 responses are flat and well-formed, so a scan
// for <Tag>...</Tag> suffices; entities are decoded. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace walship::backup {

// The decoded text of every <tag>...</tag> in `xml`, in order.
std::vector<std::string> XmlElements(std::string_view xml, std::string_view tag);
// The first one, or "" when there is none.
std::string XmlElement(std::string_view xml, std::string_view tag);
// &amp; &lt; &gt; &quot; &apos; and numeric character references.
std::string XmlUnescape(std::string_view text);
std::string XmlEscape(std::string_view text);

}  // namespace walship::backup
