"""reports: the Word report of a return (docxtpl), the builder of a form's Word template, PDF through LibreOffice."""
